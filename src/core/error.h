// Errors in libscout are exceptions carrying a message a user can act on. They are thrown where a
// problem is found and caught once at the boundary (the command line, the study runner), which
// prints the message and goes on with what works.
#pragma once

#include <stdexcept>
#include <string>

namespace libscout {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A library, model or file that the user asked for is not usable here.
class Unavailable : public Error {
 public:
  using Error::Error;
};

}  // namespace libscout
