// The stub app of the bench: writes CLOCK_MONOTONIC in ns to FILE, then execs the rest of argv or waits
// for a signal. As a launcher (`stamp T0 unshare ...`) it marks the moment just before exec; as the
// app it marks its own first instruction.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void write_stamp(const char *file, const struct timespec *at) {
  char text[32], tmp[4096];
  int n = snprintf(text, sizeof text, "%lld\n", (long long)at->tv_sec * 1000000000LL + at->tv_nsec);
  // Written aside, then renamed: a reader never sees half a number.
  snprintf(tmp, sizeof tmp, "%s.part", file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text, n) != n || close(fd) != 0 || rename(tmp, file) != 0) perror("stamp");
}

int main(int argc, char **argv) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (argc < 2) {
    fprintf(stderr, "usage: stamp FILE [COMMAND ARGS...]\n");
    return 2;
  }
  write_stamp(argv[1], &now);
  if (argc > 2) {
    execvp(argv[2], argv + 2);
    perror("stamp: exec");
    return 127;
  }
  for (;;) pause();
}
