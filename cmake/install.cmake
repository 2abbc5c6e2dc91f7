# `cmake --install BUILD --prefix P` lays out microseg as an HPC site or a downstream project
# expects it (docs/operations.md, "Installing"):
#   P/bin/microseg, microseg-plot-run, microseg-plot-sweep, microseg-plot-forecast
#   P/include/microseg/...                public headers (and the generated version.hpp)
#   P/lib/libmicroseg.a
#   P/lib/cmake/microseg/                 find_package(microseg) -> microseg::microseg
#   P/lib/pkgconfig/microseg.pc
#   P/share/microseg/slurm, jobs          batch scripts and job files
#   P/share/modulefiles/microseg/VERSION  an environment module (Tcl; Lmod reads it too)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MICROSEG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/microseg)
set(MICROSEG_DATA_DIR ${CMAKE_INSTALL_DATADIR}/microseg)

# The library as users see it: microseg::microseg, headers under P/include.
set_target_properties(microseg_lib PROPERTIES EXPORT_NAME microseg)
target_include_directories(microseg_lib PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

install(TARGETS microseg RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS microseg_lib EXPORT microsegTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/microseg ${MICROSEG_GENERATED_INCLUDE}/microseg
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")

install(EXPORT microsegTargets NAMESPACE microseg:: DESTINATION ${MICROSEG_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/microsegConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/microsegConfig.cmake
                              INSTALL_DESTINATION ${MICROSEG_CMAKE_DIR})
# 0.x: a minor release may change the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/microsegConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/microsegConfig.cmake
              ${PROJECT_BINARY_DIR}/microsegConfigVersion.cmake
        DESTINATION ${MICROSEG_CMAKE_DIR})

# pkg-config: relocatable (paths from the .pc file's own place). The library is static, so what
# it links is in Libs and Requires, not their .private forms.
set(MICROSEG_PC_NATIVE "")
if(MICROSEG_NATIVE)
  set(MICROSEG_PC_NATIVE " -march=native")
endif()
file(RELATIVE_PATH MICROSEG_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" MICROSEG_PC_TO_PREFIX "${MICROSEG_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/microseg.pc.in ${PROJECT_BINARY_DIR}/microseg.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/microseg.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Programs and data for running it.
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/plot_run.py DESTINATION ${CMAKE_INSTALL_BINDIR}
        RENAME microseg-plot-run)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/plot_sweep.py DESTINATION ${CMAKE_INSTALL_BINDIR}
        RENAME microseg-plot-sweep)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/plot_forecast.py DESTINATION ${CMAKE_INSTALL_BINDIR}
        RENAME microseg-plot-forecast)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/slurm/segment.sbatch
                 ${PROJECT_SOURCE_DIR}/scripts/slurm/quarterly.sbatch
                 ${PROJECT_SOURCE_DIR}/scripts/slurm/sweep-array.sbatch
                 ${PROJECT_SOURCE_DIR}/scripts/slurm/sweep-merge.sbatch
                 ${PROJECT_SOURCE_DIR}/scripts/slurm/submit-sweep.sh
        DESTINATION ${MICROSEG_DATA_DIR}/slurm)
install(FILES ${PROJECT_SOURCE_DIR}/scripts/slurm/common.sh DESTINATION ${MICROSEG_DATA_DIR}/slurm)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/jobs/ DESTINATION ${MICROSEG_DATA_DIR}/jobs
        FILES_MATCHING PATTERN "*.ini")

# The modulefile names the prefix it is installed under (known only at install time: --prefix,
# or /usr for the Debian package), so an operator can copy it into the site's module path.
set(MICROSEG_MODULEFILE ${PROJECT_BINARY_DIR}/modulefile/${PROJECT_VERSION})
install(CODE "
  set(MICROSEG_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(MICROSEG_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(MICROSEG_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(MICROSEG_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
  set(MICROSEG_MANDIR \"${CMAKE_INSTALL_MANDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/microseg.modulefile.in\" \"${MICROSEG_MODULEFILE}\"
                 @ONLY)")
install(FILES ${MICROSEG_MODULEFILE} DESTINATION ${CMAKE_INSTALL_DATADIR}/modulefiles/microseg)

# The man page, generated from the --help texts (every command's, through --help-all) by
# help2man when the program is built, and the bash completion script.
option(MICROSEG_MAN_PAGE "Generate the man page with help2man (Debian package help2man)" ON)
if(MICROSEG_MAN_PAGE)
  find_program(MICROSEG_HELP2MAN help2man)
  if(NOT MICROSEG_HELP2MAN)
    message(FATAL_ERROR "help2man not found: install it (scripts/install-deps.sh) or configure "
                        "with -DMICROSEG_MAN_PAGE=OFF")
  endif()
  set(MICROSEG_MAN ${PROJECT_BINARY_DIR}/microseg.1)
  add_custom_command(
    OUTPUT ${MICROSEG_MAN}
    COMMAND ${CMAKE_COMMAND} -E env ${MICROSEG_MPIEXEC_ENV}
            ${MICROSEG_HELP2MAN} --no-info --section 1 --help-option=--help-all
            --version-option=--version --include ${CMAKE_CURRENT_LIST_DIR}/microseg.h2m
            --name "customer micro-segmentation on MPI clusters" --output ${MICROSEG_MAN}
            $<TARGET_FILE:microseg>
    DEPENDS microseg ${CMAKE_CURRENT_LIST_DIR}/microseg.h2m
    COMMENT "Generating the man page microseg.1 from the --help texts (help2man)")
  add_custom_target(microseg_man_page ALL DEPENDS ${MICROSEG_MAN})
  install(FILES ${MICROSEG_MAN} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/scripts/completion/microseg.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME microseg)

include(${CMAKE_CURRENT_LIST_DIR}/package.cmake)
