package testenv

import "syscall"

// setParentDeathSignal has Linux kill the child if the test binary dies without calling Stop
// (a `go test -timeout` panic, a SIGKILL), so no etcd or apiserver outlives its test.
func setParentDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
