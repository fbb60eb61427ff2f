// An app that hands COUNT orphans to its init at once: a middle process forks COUNT children that
// block on a pipe, then exits (they are re-parented to init); closing the pipe then lets all of
// them exit together. The moment of that release (CLOCK_MONOTONIC ns) goes to FILE; then the app
// waits for a signal.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void block_until_released(int rd, int wr) {
  char byte;
  close(wr);
  while (read(rd, &byte, 1) > 0) {
  }
  _exit(0);
}

static int fork_blocked_children(int count, int rd, int wr) {
  for (int i = 0; i < count; i++) {
    pid_t pid = fork();
    if (pid == 0) block_until_released(rd, wr);
    if (pid < 0) {
      perror("orphans: fork");
      return 1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: orphans COUNT FILE\n");
    return 2;
  }
  int count = atoi(argv[1]), pipefd[2];
  if (pipe(pipefd) != 0) return perror("orphans: pipe"), 1;
  pid_t middle = fork();
  if (middle == 0) _exit(fork_blocked_children(count, pipefd[0], pipefd[1]));
  close(pipefd[0]);
  int status;
  if (waitpid(middle, &status, 0) != middle || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  FILE *out = fopen(argv[2], "w");
  if (!out) return perror("orphans: stamp"), 1;
  fprintf(out, "%lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  fclose(out);
  close(pipefd[1]);
  for (;;) pause();
}
