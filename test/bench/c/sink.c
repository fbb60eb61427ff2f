// The output rows' sink: `sink BYTES FILE -- COMMAND ARGS...` runs COMMAND with its stdout on a plain
// pipe (64 KiB, as any runtime's), reads that pipe until BYTES bytes came (or its end), counting the
// lines, and writes "NS BYTES LINES" to FILE: CLOCK_MONOTONIC when the last byte came, what came. Then
// it closes the pipe and waits for COMMAND's end; COMMAND dies with it if the sink is killed. Every
// subject of a row gets this same sink, reading the same way.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE (128 * 1024)  // coreutils' cat reads a pipe 128 KiB at a time: the same here

static void write_result(const char *file, const struct timespec *at, long long bytes, long long lines) {
  char text[96], tmp[4096];
  int n = snprintf(text, sizeof text, "%lld %lld %lld\n", (long long)at->tv_sec * 1000000000LL + at->tv_nsec, bytes, lines);
  // Written aside, then renamed: a reader never sees half a result.
  snprintf(tmp, sizeof tmp, "%s.part", file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text, n) != n || close(fd) != 0 || rename(tmp, file) != 0) perror("sink");
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: sink BYTES FILE -- COMMAND ARGS...\n");
    return 2;
  }
  long long want = atoll(argv[1]);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    perror("sink: pipe");
    return 1;
  }
  pid_t child = fork();
  if (child < 0) {
    perror("sink: fork");
    return 1;
  }
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fds[1], 1);
    execvp(argv[4], argv + 4);
    perror("sink: exec");
    _exit(127);
  }
  close(fds[1]);
  static char buf[READ_SIZE];
  long long bytes = 0, lines = 0;
  while (bytes < want) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    bytes += n;
    for (char *p = buf, *end = buf + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) lines++;
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  write_result(argv[2], &now, bytes, lines);
  close(fds[0]);
  waitpid(child, NULL, 0);
  return bytes == want ? 0 : 1;
}
