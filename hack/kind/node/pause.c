/* The pod sandbox's first process: holds the pod's namespaces, reaps orphans, exits on a signal.
 * Built statically by hack/kind/build-binaries.sh for the kind node image (registry.k8s.io/pause
 * cannot be pulled on the machines the real-container layer runs on). */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }
static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction term = {.sa_handler = on_term};
  struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
  if (getpid() != 1) {
    /* Not a sandbox: still behave, so that a manual run can be stopped. */
  }
  sigaction(SIGINT, &term, NULL);
  sigaction(SIGTERM, &term, NULL);
  sigaction(SIGCHLD, &child, NULL);
  for (;;) pause();
  return EXIT_SUCCESS;
}
