# build_speed.cmake — what keeps a build of this tree quick on two cores: ccache, Asio and Beast
# compiled once (not in every translation unit) and one precompiled header shared by every target.
# Each choice was measured; docs/build-times.md has the figures.

# ccache, when installed, keyed so that a fresh clone at another path still hits: paths under the
# source tree are hashed relative to it, and the working directory is not hashed (it only lands in
# debug info). PCH use needs the two sloppiness flags that ccache's manual names for it. Set in the
# launcher, so every way of building (presets, test.sh, an IDE) agrees on the keys.
option(DH_CCACHE "Compile through ccache when it is installed" ON)
find_program(CCACHE_PROGRAM ccache)
if(DH_CCACHE AND CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} CCACHE_NOHASHDIR=1
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${CCACHE_PROGRAM})
endif()

# A fresh clone elsewhere hits only if no unit's compile holds the checkout's path: __FILE__ (in
# every doctest assertion) is made relative to the source tree, and the tests' absolute paths
# reach one small unit (tests/support/paths.cpp).
add_compile_options(-fmacro-prefix-map=${PROJECT_SOURCE_DIR}/=)

# Asio and Beast are header-only by default: every translation unit that includes them compiles
# their non-template code again (about 1 s of each unit's 5 s of headers). With these, only
# src/core/asio_impl.cpp and src/net/beast_impl.cpp compile it. Every target must agree.
add_compile_definitions(BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION)

# One precompiled header of the heavy third-party headers, built once per build tree and reused by
# every target that has the project's flags (dh_fast_build below). Off: every unit parses its own
# includes, which is how a missing #include shows (with DH_UNITY off as well).
option(DH_PCH "Use the precompiled header of the heavy Boost headers" ON)
# hiredis's pkg-config flags define _FILE_OFFSET_BITS=64, which glibc's headers test: defined for
# every target (a no-op on 64-bit Linux), so that dh_store's units can use the shared header too.
add_compile_definitions(_FILE_OFFSET_BITS=64)
set(DH_PRECOMPILED_HEADERS
  <algorithm> <chrono> <cstdint> <functional> <map> <memory> <mutex> <optional> <string>
  <string_view> <unordered_map> <variant> <vector>
  <boost/asio/any_io_executor.hpp> <boost/asio/as_tuple.hpp> <boost/asio/awaitable.hpp>
  <boost/asio/co_spawn.hpp> <boost/asio/detached.hpp> <boost/asio/io_context.hpp>
  <boost/asio/ip/tcp.hpp> <boost/asio/post.hpp> <boost/asio/steady_timer.hpp>
  <boost/asio/strand.hpp> <boost/asio/thread_pool.hpp> <boost/asio/use_awaitable.hpp>
  <boost/asio/write.hpp>
  <boost/beast/core.hpp> <boost/beast/http.hpp> <boost/beast/websocket.hpp>
  <boost/json/array.hpp> <boost/json/object.hpp> <boost/json/parse.hpp> <boost/json/serialize.hpp>
  <boost/json/value.hpp> <boost/system/result.hpp>
  <fmt/format.h>)

# Unity builds: the sources of a target compiled in batches of eight, one unit each, so that the
# templates they share (Asio's coroutine machinery, Beast's streams, Boost.JSON) are instantiated
# once per batch, not once per file. Applied to src/, bench/, fuzz/ and tests/. Off in the debug
# preset, the inner loop's: there a one-file change recompiles one file, not its batch.
option(DH_UNITY "Compile the sources of src/, bench/, fuzz/ and tests/ in unity batches" ON)

# GCC checks -Wsubobject-linkage only outside the main file: in a unity batch every source is an
# included file, and a coroutine frame holding a lambda or an anonymous-namespace type is reported.
if(DH_UNITY AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(dh_warnings INTERFACE -Wno-subobject-linkage)
endif()

# dh_fast_build(target [UNITY] [NO_PCH]): gives `target` the shared precompiled header (the first
# call makes it) and, with UNITY, a unity build. NO_PCH: for dh_protocol, the installed library,
# whose objects must not hold Asio's static initialisers (its consumers do not link Asio).
function(dh_fast_build target)
  if(DH_UNITY AND "UNITY" IN_LIST ARGN)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON)
  endif()
  if(NOT DH_PCH OR "NO_PCH" IN_LIST ARGN)
    return()
  endif()
  if(NOT TARGET dh_pch)
    add_library(dh_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/precompiled.cpp)
    # The same usage requirements as every user of it (Boost::json defines its DYN_LINK macros, which
    # its headers test): a macro that differs makes GCC ignore the header, slower than none.
    target_link_libraries(dh_pch PRIVATE Boost::json fmt::fmt dh_warnings)
    target_precompile_headers(dh_pch PRIVATE ${DH_PRECOMPILED_HEADERS})
  endif()
  target_precompile_headers(${target} REUSE_FROM dh_pch)
endfunction()
