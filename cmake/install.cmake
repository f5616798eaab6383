# install.cmake — what `cmake --install` and the .deb put where: the binary, the systemd unit and
# its secrets file, the nginx example, the docs, and dashboard_hub::protocol (headers, static
# library, CMake package) for other teams' C++ producers and clients.
include(CMakePackageConfigHelpers)

install(TARGETS dashboard-hub RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# lib/, not the multiarch libdir: that is where systemd looks for units.
install(FILES deploy/systemd/dashboard-hub.service DESTINATION lib/systemd/system)
# The env file's template; the .deb's postinst copies it to /etc/dashboard-hub/ (mode 0600) when
# there is none, and a purge removes it.
install(FILES deploy/systemd/dashboard-hub.env DESTINATION ${CMAKE_INSTALL_DATADIR}/dashboard-hub)
install(FILES deploy/nginx/dashboard-hub.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/nginx)
install(FILES README.md bench/RESULTS.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# dashboard_hub::protocol: headers under include/dashboard_hub/protocol/, included as
# "protocol/messages.hpp" like inside the project.
install(TARGETS dh_protocol EXPORT dashboard_hub_targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY src/protocol/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dashboard_hub/protocol FILES_MATCHING PATTERN "*.hpp")
set(DH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dashboard_hub)
install(EXPORT dashboard_hub_targets NAMESPACE dashboard_hub:: FILE dashboard_hubTargets.cmake DESTINATION ${DH_CMAKE_DIR})
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/dashboard_hubConfig.cmake
  "# dashboard_hubConfig.cmake — find_package(dashboard_hub) gives dashboard_hub::protocol.\n"
  "set(DH_IN_PACKAGE_CONFIG ON)\n"
  "include(\${CMAKE_CURRENT_LIST_DIR}/dashboard_hub_dependencies.cmake)\n"
  "if(DEFINED dashboard_hub_FOUND AND NOT dashboard_hub_FOUND)\n"
  "  return()  # a dependency is missing; find_dependency said which\n"
  "endif()\n"
  "include(\${CMAKE_CURRENT_LIST_DIR}/dashboard_hubTargets.cmake)\n")
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/dashboard_hubConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/dashboard_hubConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/dashboard_hubConfigVersion.cmake
              cmake/dashboard_hub_dependencies.cmake
        DESTINATION ${DH_CMAKE_DIR})

# The .deb (cpack -G DEB): Depends from dpkg-shlibdeps on the binary; postinst and postrm look
# after /etc/dashboard-hub/dashboard-hub.env.
set(CPACK_PACKAGE_NAME dashboard-hub)
set(CPACK_PACKAGE_VENDOR "dashboard-hub")
set(CPACK_PACKAGE_CONTACT "dashboard-hub maintainers <dashboard-hub@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time WebSocket gateway for task changes and dashboard statistics")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/postinst
                                       ${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
