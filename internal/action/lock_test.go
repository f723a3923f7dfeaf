package action

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

// putLease writes the lock as another run would have left it: held by holder for command,
// taken at since, last renewed at renewed, expiring d after that.
func putLease(t *testing.T, cs kubernetes.Interface, holder, command string, since, renewed time.Time, d time.Duration) {
	t.Helper()
	l := newLease(holder, command, "someone-else", d, since)
	l.Spec.RenewTime = &metav1.MicroTime{Time: renewed}
	leases := cs.CoordinationV1().Leases(LockNamespace)
	if cur, err := leases.Get(t.Context(), LockName, metav1.GetOptions{}); err == nil {
		l.ObjectMeta = cur.ObjectMeta
		l.Annotations = map[string]string{lockAnnCommand: command, lockAnnToken: "someone-else"}
		_, err = leases.Update(t.Context(), l, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := leases.Create(t.Context(), l, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func getLease(t *testing.T, cs kubernetes.Interface) (*coordinationv1.Lease, bool) {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(LockNamespace).Get(t.Context(), LockName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return l, true
}

// TestClusterLockOnControlPlane: up and down hold a Lease in kube-system while they change the
// cluster. Two ups at once take turns (the second failed before on the ledger's create race); a
// run that finds the lock held says by whom and since when, waits with progress or refuses with
// --no-wait, and gives up at its timeout; the lock of a holder that died expires; the holder
// renews it while it runs, and a run whose lock was taken over stops.
func TestClusterLockOnControlPlane(t *testing.T) {
	tenv := testenv.Require(t, testenv.Options{})
	cs := tenv.Client()
	ctx := t.Context()
	const ghost = "alice@laptop pid 4242"

	t.Run("two ups at once take turns", func(t *testing.T) {
		envs := []*cpEnv{newCPEnv(t, tenv), newCPEnv(t, tenv)}
		errs := make([]error, len(envs))
		var wg sync.WaitGroup
		for i, e := range envs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = e.Up(ctx, "chapter-6", UpOptions{Timeout: time.Minute, SkipChecks: true})
			}()
		}
		wg.Wait()
		waited := 0
		for i, e := range envs {
			if errs[i] != nil {
				t.Fatalf("up %d: %v\n%s", i, errs[i], e.out)
			}
			out := e.out.String()
			if strings.Contains(out, "cluster lock: held by ") {
				waited++
				for _, want := range []string{" pid ", " (up chapter-6) since ", "ago); waiting for it (at most 10m0s",
					"✓ cluster lock: taken after waiting"} {
					if !strings.Contains(out, want) {
						t.Errorf("the up that waited does not say %q:\n%s", want, out)
					}
				}
			}
		}
		if waited != 1 {
			t.Errorf("%d of the two ups waited for the lock, want 1:\n%s\n---\n%s", waited, envs[0].out, envs[1].out)
		}
		entries, err := deploy.Ledger{CS: cs}.Read(ctx)
		if err != nil || !entries["chapter-6"].Complete {
			t.Errorf("ledger after two ups: %+v (%v)", entries, err)
		}
		if _, held := getLease(t, cs); held {
			t.Error("the lock is still there after both ups ended")
		}
	})

	t.Run("--no-wait refuses and names the holder", func(t *testing.T) {
		since := time.Now().Add(-90 * time.Second)
		putLease(t, cs, ghost, "up chapter-5", since, time.Now(), time.Minute)
		e := newCPEnv(t, tenv)
		err := e.Up(ctx, "chapter-6", UpOptions{Timeout: time.Minute, SkipChecks: true, Lock: LockOptions{NoWait: true}})
		var held *LockHeldError
		if !errors.As(err, &held) || held.Holder != ghost || held.Command != "up chapter-5" || !held.Since.Equal(since.Truncate(time.Microsecond)) {
			t.Fatalf("up --no-wait on a held lock: %v (%+v)", err, held)
		}
		for _, want := range []string{"lock cluster (lease kube-system/mlops-series-lock): the cluster is locked by " + ghost + " (up chapter-5) since " + since.Local().Format("15:04:05") + " (1m3",
			"run again without --no-wait"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
		if strings.Contains(e.out.String(), "(namespace mlflow") {
			t.Errorf("up went on without the lock:\n%s", e.out)
		}
	})

	t.Run("the wait ends at the timeout", func(t *testing.T) {
		putLease(t, cs, ghost, "down --all", time.Now(), time.Now(), time.Minute)
		e := newCPEnv(t, tenv)
		start := time.Now()
		err := e.Down(ctx, "chapter-6", DownOptions{Lock: LockOptions{Timeout: 2 * time.Second}})
		var held *LockHeldError
		if !errors.As(err, &held) || held.Waited < 2*time.Second || time.Since(start) > 10*time.Second {
			t.Fatalf("down with a 2s lock timeout: %v after %s", err, time.Since(start))
		}
		for _, want := range []string{"• cluster lock: held by " + ghost + " (down --all) since ", "waiting for it (at most 2s",
			"✗ cluster lock: still held by " + ghost} {
			if !strings.Contains(e.out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, e.out)
			}
		}
		if !strings.Contains(err.Error(), "still after waiting 2s: let it finish, or raise --lock-timeout") {
			t.Errorf("error: %v", err)
		}
	})

	t.Run("the lock of a holder that died expires", func(t *testing.T) {
		// Left by a run killed a minute ago: taken at once, even with --no-wait.
		putLease(t, cs, ghost, "up chapter-8", time.Now().Add(-2*time.Minute), time.Now().Add(-time.Minute), 30*time.Second)
		e := newCPEnv(t, tenv)
		if err := e.Up(ctx, "chapter-6", UpOptions{Timeout: time.Minute, SkipChecks: true, Lock: LockOptions{NoWait: true}}); err != nil {
			t.Fatalf("up over an expired lock: %v\n%s", err, e.out)
		}
		if !strings.Contains(e.out.String(), "cluster lock: took over from "+ghost+" (up chapter-8) since ") {
			t.Errorf("up does not say it took the lock over:\n%s", e.out)
		}
		// Held by a run that stops renewing now: a waiting run takes it once it expires.
		putLease(t, cs, ghost, "up chapter-8", time.Now(), time.Now(), 2*time.Second)
		e = newCPEnv(t, tenv)
		start := time.Now()
		if err := e.Up(ctx, "chapter-6", UpOptions{Timeout: time.Minute, SkipChecks: true}); err != nil {
			t.Fatalf("up waiting for a lock that expires: %v\n%s", err, e.out)
		}
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("up took a live lock: done after %s", d)
		}
		for _, want := range []string{"cluster lock: held by " + ghost, "cluster lock: took over from " + ghost} {
			if !strings.Contains(e.out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, e.out)
			}
		}
		if _, held := getLease(t, cs); held {
			t.Error("the lock is still there after up ended")
		}
	})

	t.Run("the holder renews its lock; a run whose lock is taken over stops", func(t *testing.T) {
		e := newCPEnv(t, tenv)
		lctx, unlock, err := e.lockCluster(ctx, cs, "up chapter-6", LockOptions{Duration: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		first, _ := getLease(t, cs)
		time.Sleep(4 * time.Second) // longer than the lease lasts without renewal
		other := newCPEnv(t, tenv)
		if _, _, err := other.lockCluster(ctx, cs, "down chapter-6", LockOptions{NoWait: true}); err == nil {
			t.Fatal("a renewed lock was taken")
		}
		renewed, _ := getLease(t, cs)
		if !renewed.Spec.RenewTime.After(first.Spec.RenewTime.Time) {
			t.Errorf("lease not renewed: %v then %v", first.Spec.RenewTime, renewed.Spec.RenewTime)
		}
		unlock()
		if _, held := getLease(t, cs); held {
			t.Error("unlock left the lease")
		}
		if err := lctx.Err(); err == nil {
			t.Error("the lock's context still runs after unlock")
		}

		lctx, unlock, err = e.lockCluster(ctx, cs, "up chapter-6", LockOptions{Duration: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		putLease(t, cs, ghost, "up chapter-5", time.Now(), time.Now(), time.Minute) // taken over
		select {
		case <-lctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the run whose lock was taken over goes on")
		}
		if err := lockErr(lctx, context.Canceled); !errors.Is(err, errLockLost) {
			t.Errorf("lost lock: %v", err)
		}
		unlock()
		if l, held := getLease(t, cs); !held || *l.Spec.HolderIdentity != ghost {
			t.Error("unlock of a lost lock removed the new holder's lease")
		}
		if err := cs.CoordinationV1().Leases(LockNamespace).Delete(ctx, LockName, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unlock removes the lease when a renewal it did not see went through", func(t *testing.T) {
		// The renewal cut short by unlock's cancel can still be written by the API server (seen under
		// load in CI): the lease then has a resource version this run never read.
		e := newCPEnv(t, tenv)
		_, unlock, err := e.lockCluster(ctx, cs, "up chapter-6", LockOptions{Duration: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		l, _ := getLease(t, cs)
		l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		if _, err := cs.CoordinationV1().Leases(LockNamespace).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		unlock()
		if _, held := getLease(t, cs); held {
			t.Error("unlock left its own lease after an unseen renewal")
		}
	})

	e := newCPEnv(t, tenv)
	if err := e.Down(ctx, "chapter-6", DownOptions{Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("down: %v\n%s", err, e.out)
	}
	assertGone(t, tenv)
	if _, held := getLease(t, cs); held {
		t.Error("down left the lock")
	}
}

func TestLockHeldErrorText(t *testing.T) {
	now := time.Now()
	e := &LockHeldError{Holder: "alice@laptop pid 4242", Command: "up chapter-6", Since: now.Add(-130 * time.Second)}
	want := "alice@laptop pid 4242 (up chapter-6) since " + now.Add(-130*time.Second).Local().Format("15:04:05") + " (2m10s ago)"
	if got := e.describe(now); got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	yesterday := now.Add(-26 * time.Hour)
	if got := clock(yesterday, now); got != yesterday.Local().Format(time.DateTime)+" (26h0m0s ago)" {
		t.Errorf("clock of yesterday = %q", got)
	}
	if h := lockHolder(); !strings.Contains(h, "@") || !strings.Contains(h, " pid ") {
		t.Errorf("holder %q is not user@host pid N", h)
	}
}

func TestLeaseExpired(t *testing.T) {
	now := time.Now()
	l := newLease("a@b pid 1", "up chapter-6", "x", 30*time.Second, now.Add(-time.Minute))
	if !leaseExpired(l, now, now) {
		t.Error("a lease renewed a minute ago with a 30s duration has not expired")
	}
	l.Spec.RenewTime = &metav1.MicroTime{Time: now.Add(-10 * time.Second)}
	if leaseExpired(l, now, now) {
		t.Error("a lease renewed 10s ago has expired")
	}
	// The holder's clock runs ahead: its renew time is in the future, but this run has seen the
	// lease unchanged for longer than its duration.
	l.Spec.RenewTime = &metav1.MicroTime{Time: now.Add(time.Hour)}
	if leaseExpired(l, now, now.Add(-10*time.Second)) || !leaseExpired(l, now, now.Add(-31*time.Second)) {
		t.Error("expiry by what this run saw is wrong")
	}
}
