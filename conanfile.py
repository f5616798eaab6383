"""Conan 2 recipe: dashboard-hub, the gateway binary and dashboard_hub::protocol.

Other teams' C++ producers and clients link dashboard_hub::protocol (the contract: message codec,
event types, error table, JWT verification) instead of rewriting it; the package also carries the
gateway executable, the systemd unit and the nginx example.

Versions: ConanCenter's libjwt is 1.18.x where Debian bookworm has 1.10, and its hiredis 1.x where
Debian has 0.14. The code uses only API that both lines share (libjwt: jwt_new, jwt_decode,
jwt_get_alg, jwt_set_alg, jwt_add_grants_json, jwt_encode_str, jwt_free; hiredis: the async API,
redisAsyncConnect, redisAsyncCommandArgv, the connect/disconnect callbacks, redisEnableKeepAlive and
the ev hooks). It is built and tested here against Debian's versions only: Conan cannot be
installed on the project's machines, so a build against ConanCenter's versions has not been run
(see README, "Conan").
"""
from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout


class DashboardHubConan(ConanFile):
    name = "dashboard-hub"
    version = "0.1.0"
    license = "proprietary"
    description = "Real-time WebSocket gateway for task changes and dashboard statistics"
    topics = ("websocket", "gateway", "dashboard")
    # A library for consumers (they need its headers); "application" would hide them.
    package_type = "static-library"
    settings = "os", "arch", "compiler", "build_type"
    exports_sources = ("CMakeLists.txt", "cmake/*", "src/*", "web/*", "deploy/*", "README.md", "bench/RESULTS.md")

    def requirements(self):
        # transitive_headers: dashboard_hub::protocol's headers include Boost.JSON's.
        self.requires("boost/1.83.0", transitive_headers=True)
        self.requires("fmt/10.2.1", transitive_headers=True)
        self.requires("libjwt/1.18.3")
        self.requires("openssl/3.5.7")
        self.requires("sqlite3/3.51.3")
        self.requires("hiredis/1.2.0")
        self.requires("prometheus-cpp/1.2.4")

    def layout(self):
        cmake_layout(self)

    def generate(self):
        CMakeDeps(self).generate()
        toolchain = CMakeToolchain(self)
        toolchain.variables["DH_BUILD_TESTS"] = False
        toolchain.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        CMake(self).install()

    def package_info(self):
        # Component names are those ConanCenter's recipes define (conan-center-index e9075254):
        # boost's per library, openssl's crypto, sqlite3's sqlite, hiredis's hiredislib,
        # prometheus-cpp's prometheus-cpp-core; fmt and libjwt as whole packages.
        # find_package(dashboard_hub) and the target names of the project's own CMake package.
        self.cpp_info.set_property("cmake_file_name", "dashboard_hub")

        protocol = self.cpp_info.components["protocol"]
        protocol.set_property("cmake_target_name", "dashboard_hub::protocol")
        protocol.libs = ["dashboard_hub_protocol"]
        protocol.includedirs = ["include/dashboard_hub"]
        protocol.requires = ["boost::json", "fmt::fmt", "libjwt::libjwt", "openssl::crypto"]

        # The gateway executable's run-time needs (what it links), for consumers that run it.
        gateway = self.cpp_info.components["gateway"]
        gateway.set_property("cmake_target_name", "dashboard_hub::gateway")
        gateway.libs = []
        gateway.includedirs = []
        gateway.bindirs = ["bin"]
        gateway.requires = ["protocol", "boost::url", "boost::program_options", "sqlite3::sqlite", "hiredis::hiredislib",
                            "prometheus-cpp::prometheus-cpp-core", "openssl::crypto"]
