# OpenCV's core (cv::Mat) and imgproc (cv::resize, putText) modules, found by
# their headers and libraries: Debian's libopencv-core-dev and
# libopencv-imgproc-dev ship no CMake config (libopencv-dev does, and brings
# every module: ~470 packages with GDAL, VTK and MariaDB's client against ~90).
find_path(BB_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
find_library(BB_OPENCV_CORE_LIB opencv_core REQUIRED)
find_library(BB_OPENCV_IMGPROC_LIB opencv_imgproc REQUIRED)
if(NOT EXISTS "${BB_OPENCV_INCLUDE_DIR}/opencv2/imgproc.hpp")
  message(FATAL_ERROR "OpenCV's imgproc headers are missing (libopencv-imgproc-dev; scripts/install-deps.sh installs it)")
endif()
add_library(bb::opencv INTERFACE IMPORTED)
target_include_directories(bb::opencv SYSTEM INTERFACE "${BB_OPENCV_INCLUDE_DIR}")
target_link_libraries(bb::opencv INTERFACE "${BB_OPENCV_IMGPROC_LIB}" "${BB_OPENCV_CORE_LIB}")
