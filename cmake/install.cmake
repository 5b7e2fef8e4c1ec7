# install.cmake - what `cmake --install` puts in place (included by CMakeLists.txt):
# libnomid.so (with its SONAME link) and libnomid.a, nomid.h, a pkg-config file
# (`pkg-config --cflags --libs nomid`, `--static` for the archive) and a CMake package
# (`find_package(nomid)`, targets nomid::nomid and nomid::nomid_static).
include(CMakePackageConfigHelpers)

set(NOMID_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nomid)

install(TARGETS nomid_shared nomid_core EXPORT nomidTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES lib/include/nomid.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The .pc file finds its prefix from where it lies (${pcfiledir}), so the installed tree
# may be moved and `cmake --install --prefix` works whatever the configured prefix.
file(RELATIVE_PATH NOMID_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" NOMID_PC_TO_PREFIX "${NOMID_PC_TO_PREFIX}")
set(NOMID_PC_PREFIX "\${pcfiledir}/${NOMID_PC_TO_PREFIX}")
configure_file(cmake/nomid.pc.in ${PROJECT_BINARY_DIR}/nomid.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nomid.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(EXPORT nomidTargets NAMESPACE nomid:: DESTINATION ${NOMID_CMAKE_DIR})
configure_package_config_file(cmake/nomidConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/nomidConfig.cmake
                              INSTALL_DESTINATION ${NOMID_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nomidConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nomidConfig.cmake
              ${PROJECT_BINARY_DIR}/nomidConfigVersion.cmake
        DESTINATION ${NOMID_CMAKE_DIR})
