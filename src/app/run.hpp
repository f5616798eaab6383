// run.hpp — wires a validated config into a running server: io_context threads, the listener,
// signal handling and the drain on SIGTERM/SIGINT. Returns the process exit code.
#pragma once

#include "app/config.hpp"

namespace dh::app {

int run_server(config cfg);

}  // namespace dh::app
