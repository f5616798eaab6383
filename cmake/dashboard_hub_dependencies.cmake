# dashboard_hub_dependencies.cmake — finds every dependency under the package and target names that
# Conan 2's CMakeDeps generates, so one CMakeLists serves Debian's packages and a Conan build:
# CMake config files where they exist (Conan writes them all; Debian ships them for Boost, fmt
# and prometheus-cpp), CMake's own modules for OpenSSL and SQLite3, and pkg-config for what
# Debian ships without one (libjwt, hiredis), wrapped in the same target names.
# The installed dashboard_hubConfig.cmake includes it too, with DH_IN_PACKAGE_CONFIG set: then
# only what dashboard_hub::protocol needs, found with find_dependency.
if(DH_IN_PACKAGE_CONFIG)
  include(CMakeFindDependencyMacro)
  macro(dh_find)
    find_dependency(${ARGV})
  endmacro()
else()
  macro(dh_find)
    find_package(${ARGV} REQUIRED)
  endmacro()
endif()

# A pkg-config module as NAME::NAME, when no CMake package of that name provides the target.
macro(dh_pkg_config_target name module)
  if(NOT TARGET ${name}::${name})
    find_package(${name} CONFIG QUIET)
  endif()
  if(NOT TARGET ${name}::${name})
    dh_find(PkgConfig)
    pkg_check_modules(DH_PC_${name} REQUIRED IMPORTED_TARGET ${module})
    add_library(${name}::${name} INTERFACE IMPORTED)
    target_link_libraries(${name}::${name} INTERFACE PkgConfig::DH_PC_${name})
  endif()
endmacro()

if(DH_IN_PACKAGE_CONFIG)
  dh_find(Boost 1.81 COMPONENTS json)
else()
  dh_find(Boost 1.81 COMPONENTS json url program_options)
  dh_find(Threads)
  dh_find(SQLite3)
  dh_find(prometheus-cpp CONFIG)
  dh_pkg_config_target(hiredis hiredis)
endif()
dh_find(fmt)
dh_find(OpenSSL)
dh_pkg_config_target(libjwt libjwt)
