package testenv

import "runtime"

// spawner runs process starts on one goroutine locked to its OS thread for the life of the
// Env. On Linux the parent-death signal of a child is tied to the thread that forked it, not to
// the process: forking from an ordinary goroutine would let the child be killed whenever the
// Go runtime retires that thread.
type spawner struct {
	reqs chan func()
	quit chan struct{}
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan func()), quit: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		// Returning while locked would end the thread; stay locked and exit only at close, when
		// no child remains.
		defer runtime.UnlockOSThread()
		for {
			select {
			case f := <-s.reqs:
				f()
			case <-s.quit:
				return
			}
		}
	}()
	return s
}

// do runs f on the spawner's thread and waits for it.
func (s *spawner) do(f func()) {
	done := make(chan struct{})
	s.reqs <- func() { f(); close(done) }
	<-done
}

func (s *spawner) close() { close(s.quit) }
