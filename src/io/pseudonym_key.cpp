#include "microseg/io/pseudonym_key.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "microseg/core/types.hpp"

namespace microseg::io {

std::string read_pseudonym_key(const std::string& path) {
  const std::string where = "--pseudonymise-ids key file '" + path + "'";
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    throw InputError(where + ": " + std::strerror(errno));
  }
  if (!S_ISREG(status.st_mode)) throw InputError(where + " is not a regular file");
  if ((status.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    throw InputError(where + " is readable or writable by every user (mode " +
                     std::to_string((status.st_mode >> 6) & 7) +
                     std::to_string((status.st_mode >> 3) & 7) +
                     std::to_string(status.st_mode & 7) +
                     "); make it private first, e.g. chmod 600 '" + path + "'");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(where + " cannot be read: " + std::strerror(errno));
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(where + " cannot be read");
  if (key.empty()) throw InputError(where + " is empty: a key needs at least one byte");
  return key;
}

}  // namespace microseg::io
