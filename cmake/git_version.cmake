# Run at every build (target bb_git_version): writes ${DST} from ${SRC} with
# the current `git describe --always --dirty`, touching it only when the text
# changes, so reports and checkpoints name the revision actually built.
execute_process(COMMAND git describe --always --dirty
                WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE BITBENCH_GIT_REV OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)
if(NOT BITBENCH_GIT_REV)
  set(BITBENCH_GIT_REV "unknown")
endif()
configure_file(${SRC} ${DST} @ONLY)
