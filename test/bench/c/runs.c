// Runs commands in turn, ROUNDS times: `runs ROUNDS -- A ARGS -- B ARGS ...`. One line per run:
// "command wall_ns user_us sys_us status" (the commands' own stdout goes to /dev/null), wall from fork to reaped, CPU from wait4's rusage (the
// command and every descendant it waited for). Interleaving keeps a noisy machine's drift out of
// the comparison.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COMMANDS 8

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long micros(struct timeval t) { return (long long)t.tv_sec * 1000000LL + t.tv_usec; }

static int run_once(int index, char **command) {
  long long started = now_ns();
  pid_t pid = fork();
  if (pid < 0) return perror("runs: fork"), 1;
  if (pid == 0) {
    // Output goes nowhere, as with hyperfine: only the runner's lines are on stdout.
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    execvp(command[0], command);
    _exit(127);
  }
  int status;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) != pid) return perror("runs: wait4"), 1;
  long long wall = now_ns() - started;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("%d %lld %lld %lld %d\n", index, wall, micros(usage.ru_utime), micros(usage.ru_stime), code);
  return 0;
}

int main(int argc, char **argv) {
  char **commands[MAX_COMMANDS];
  int count = 0;
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: runs ROUNDS -- COMMAND ARGS [-- COMMAND ARGS ...]\n");
    return 2;
  }
  // Each `--` ends the command before it and starts the next.
  for (int i = 2; i < argc && count < MAX_COMMANDS; i++) {
    if (strcmp(argv[i], "--") != 0) continue;
    argv[i] = NULL;
    if (i + 1 < argc) commands[count++] = argv + i + 1;
  }
  int rounds = atoi(argv[1]);
  for (int round = 0; round < rounds; round++)
    for (int c = 0; c < count; c++)
      if (run_once(c, commands[c]) != 0) return 1;
  return 0;
}
