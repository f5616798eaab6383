// beast_impl.cpp — Beast's non-template implementation, compiled once for the whole program
// (BOOST_BEAST_SEPARATE_COMPILATION is set for every target: cmake/build_speed.cmake).
#include <boost/beast/src.hpp>
