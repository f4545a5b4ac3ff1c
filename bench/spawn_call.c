// The time the parent waits in one spawn of /usr/bin/true: glibc's posix_spawn with
// SIGPIPE defaulted (mode 0), with every signal defaulted (1), and clone(CLONE_VM |
// CLONE_VFORK) resetting four signals, as src/process/spawn.rs does (2).
//
//   cc -O2 -o spawn_call bench/spawn_call.c && ./spawn_call MODE 2000
#define _GNU_SOURCE
#include <spawn.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <time.h>
#include <errno.h>
extern char **environ;
static char *argv_[] = {"true", NULL};
static volatile int child_err;
static sigset_t reset;
static int child(void *arg) {
  struct sigaction dfl; memset(&dfl, 0, sizeof dfl); dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < 65; s++) if (sigismember(&reset, s)) sigaction(s, &dfl, NULL);
  setpgid(0, 0);
  sigset_t empty; sigemptyset(&empty); sigprocmask(SIG_SETMASK, &empty, NULL);
  execve("/usr/bin/true", argv_, environ);
  child_err = errno; _exit(127);
}
static void h(int s) {}
int main(int argc, char **argv) {
  int mode = atoi(argv[1]), n = atoi(argv[2]);
  signal(SIGINT, h); signal(SIGTERM, h); signal(SIGHUP, h); signal(SIGPIPE, SIG_IGN);
  struct timespec a, b; double tot=0;
  sigemptyset(&reset); sigaddset(&reset, SIGINT); sigaddset(&reset, SIGTERM); sigaddset(&reset, SIGHUP); sigaddset(&reset, SIGPIPE);
  char *stack = malloc(65536);
  for (int i = 0; i < n; i++) {
    pid_t pid; clock_gettime(CLOCK_MONOTONIC, &a);
    if (mode < 2) {
      posix_spawnattr_t at; posix_spawnattr_init(&at);
      sigset_t sd, e; sigemptyset(&e);
      if (mode == 0) { sigemptyset(&sd); sigaddset(&sd, SIGPIPE); } else sigfillset(&sd);
      posix_spawnattr_setsigdefault(&at, &sd); posix_spawnattr_setsigmask(&at, &e);
      posix_spawnattr_setpgroup(&at, 0);
      posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF|POSIX_SPAWN_SETSIGMASK|POSIX_SPAWN_SETPGROUP);
      posix_spawn(&pid, "/usr/bin/true", NULL, &at, argv_, environ);
      posix_spawnattr_destroy(&at);
    } else {
      sigset_t all, old; sigfillset(&all); pthread_sigmask(SIG_SETMASK, &all, &old);
      pid = clone(child, stack + 65536, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
      pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &b); tot += (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    int st; waitpid(pid, &st, 0);
  }
  printf("mode %d: %.1f us in the spawn call\n", mode, tot / 1e3 / n);
}
