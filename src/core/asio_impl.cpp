// asio_impl.cpp — Asio's non-template implementation, compiled once for the whole program
// (BOOST_ASIO_SEPARATE_COMPILATION is set for every target: cmake/build_speed.cmake).
#include <boost/asio/impl/src.hpp>
