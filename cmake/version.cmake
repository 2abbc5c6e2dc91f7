# The version header, microseg/version.hpp: the project version and, when configured from a git
# checkout, the commit (git describe --always --dirty). Without git, or outside a checkout, the
# commit is "unknown"; configuring never fails for it.
set(MICROSEG_GIT_COMMIT unknown)
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty --abbrev=12
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE git_describe
                  RESULT_VARIABLE git_status OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(git_status EQUAL 0 AND NOT git_describe STREQUAL "")
    set(MICROSEG_GIT_COMMIT ${git_describe})
    # Configure again when HEAD moves (a commit, a checkout), so the commit stays current: watch
    # HEAD and the file of the branch it names (a worktree keeps them in different places).
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --git-path HEAD --symbolic-full-name HEAD
                    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE git_head
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    string(REPLACE "\n" ";" git_head "${git_head}")
    list(GET git_head 0 git_watch)
    list(LENGTH git_head git_head_parts)
    if(git_head_parts GREATER 1)
      list(GET git_head 1 git_ref)
      execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --git-path ${git_ref}
                      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE git_ref_file
                      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      list(APPEND git_watch ${git_ref_file})
    endif()
    foreach(file ${git_watch})
      get_filename_component(file ${file} ABSOLUTE BASE_DIR ${PROJECT_SOURCE_DIR})
      if(EXISTS ${file})
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
      endif()
    endforeach()
  endif()
endif()
set(MICROSEG_GENERATED_INCLUDE ${PROJECT_BINARY_DIR}/generated/include)
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.hpp.in
               ${MICROSEG_GENERATED_INCLUDE}/microseg/version.hpp @ONLY)
