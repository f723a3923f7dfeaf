package action

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// The cluster lock: `up` and `down` hold a coordination.k8s.io/v1 Lease, kube-system/
// mlops-series-lock, while they change the cluster, so that two runs on one cluster (two
// terminals, two CI jobs) take turns instead of racing on the ledger and the releases. The holder
// renews the Lease while it runs; a holder that died stops renewing, and its lock expires.
const (
	LockNamespace = metav1.NamespaceSystem
	LockName      = "mlops-series-lock"
	// DefaultLockTimeout is how long a run waits for another to finish by default.
	DefaultLockTimeout = 10 * time.Minute

	lockDuration   = 30 * time.Second
	lockAnnCommand = "mlops-series.dev/command"
	lockAnnToken   = "mlops-series.dev/token"
)

// LockOptions say what a run does while another holds the cluster lock.
type LockOptions struct {
	// Timeout bounds the wait (0: DefaultLockTimeout).
	Timeout time.Duration
	// NoWait refuses at once instead of waiting.
	NoWait bool
	// Duration is how long the lock outlives its holder's last renewal (0: 30s; tests shorten it).
	Duration time.Duration
}

// LockHeldError says that another run holds the cluster lock.
type LockHeldError struct {
	Holder  string    // "user@host pid N"
	Command string    // "up chapter-6"
	Since   time.Time // when it took the lock
	// Waited is how long this run waited (0 with --no-wait).
	Waited time.Duration
}

func (e *LockHeldError) Error() string {
	s := "the cluster is locked by " + e.describe(time.Now())
	if e.Waited > 0 {
		return fmt.Sprintf("%s, still after waiting %s: let it finish, or raise --lock-timeout", s, e.Waited.Round(time.Second))
	}
	return s + ": let it finish, or run again without --no-wait to wait for it"
}

func (e *LockHeldError) describe(now time.Time) string {
	s := e.Holder
	if e.Command != "" {
		s += " (" + e.Command + ")"
	}
	if !e.Since.IsZero() {
		s += " since " + clock(e.Since, now)
	}
	return s
}

// clock shows a past time as the hour (or date and hour when not today) and how long ago it was.
func clock(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	layout := "15:04:05"
	if t.Format(time.DateOnly) != now.Format(time.DateOnly) {
		layout = time.DateTime
	}
	return fmt.Sprintf("%s (%s ago)", t.Format(layout), now.Sub(t).Round(time.Second))
}

// errLockLost ends a run whose lock another run took over (it could not renew it in time).
var errLockLost = errors.New("lost the cluster lock: another run took it over after this one failed to renew it; its changes may be mixed with this one's: run the command again")

// heldLock is a lock this run holds.
type heldLock struct {
	cs       kubernetes.Interface
	token    string
	duration time.Duration
	mu       sync.Mutex
	lease    *coordinationv1.Lease // as last written
	cancel   context.CancelCauseFunc
	stopped  chan struct{}
}

// lockCluster takes the cluster lock for command ("up chapter-6"), waiting for another holder as o
// says, with progress on the UI. It returns a context that ends if the lock is lost, and the
// function that releases the lock (call it once the cluster is left as it should be).
func (e *Env) lockCluster(ctx context.Context, cs kubernetes.Interface, command string, o LockOptions) (context.Context, func(), error) {
	if o.Timeout == 0 {
		o.Timeout = DefaultLockTimeout
	}
	if o.Duration == 0 {
		o.Duration = lockDuration
	}
	token, err := lockToken()
	if err != nil {
		return nil, nil, err
	}
	me := lockHolder()
	leases := cs.CoordinationV1().Leases(LockNamespace)
	start := time.Now()
	var (
		st       stepper
		waitedOn string
		seenRV   string    // the other holder's lease as last seen
		seenAt   time.Time // when it last changed
		told     time.Time // the last progress line, where no spinner shows the wait
	)
	for {
		now := time.Now()
		cur, err := leases.Get(ctx, LockName, metav1.GetOptions{})
		var taken *coordinationv1.Lease
		var took *LockHeldError // the holder whose expired lock this run takes over
		switch {
		case apierrors.IsNotFound(err):
			taken, err = leases.Create(ctx, newLease(me, command, token, o.Duration, now), metav1.CreateOptions{})
		case err != nil:
		default:
			holder := leaseHolder(cur)
			if cur.ResourceVersion != seenRV {
				seenRV, seenAt = cur.ResourceVersion, now
			}
			free := holder.Holder == ""
			if !free && leaseExpired(cur, now, seenAt) {
				free, took = true, holder
			}
			if free {
				next := newLease(me, command, token, o.Duration, now)
				next.ObjectMeta = *cur.ObjectMeta.DeepCopy()
				next.Annotations = map[string]string{lockAnnCommand: command, lockAnnToken: token}
				taken, err = leases.Update(ctx, next, metav1.UpdateOptions{})
				break
			}
			if o.NoWait {
				return nil, nil, fmt.Errorf("lock cluster (lease %s/%s): %w", LockNamespace, LockName, holder)
			}
			if waited := now.Sub(start); waited >= o.Timeout {
				holder.Waited = waited
				st.fail(e.UI.T(i18n.LockStillHeld, holder.describe(now)))
				return nil, nil, fmt.Errorf("lock cluster (lease %s/%s): %w", LockNamespace, LockName, holder)
			}
			if d := holder.describe(now); holder.Holder+holder.Command != waitedOn {
				if waitedOn != "" {
					st.ok(e.UI.T(i18n.LockNowHeld, d))
				}
				waitedOn = holder.Holder + holder.Command
				st = stepper{e.UI.Start(e.UI.T(i18n.LockWaiting, d, o.Timeout.Round(time.Second), o.Duration.Round(time.Second)))}
				told = now
			} else if !e.UI.TTY && now.Sub(told) >= 30*time.Second {
				e.UI.Say(i18n.LockStillWaiting, now.Sub(start).Round(time.Second), d)
				told = now
			}
			select {
			case <-ctx.Done():
				st.fail(e.UI.T(i18n.LockInterrupted))
				return nil, nil, fmt.Errorf("lock cluster: wait for %s: %w", holder.Holder, ctx.Err())
			case <-time.After(min(time.Second, o.Timeout-now.Sub(start))):
			}
			continue
		}
		if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
			continue // another run moved first: look again
		}
		if err != nil {
			st.fail(e.UI.T(i18n.LockNotTaken))
			return nil, nil, fmt.Errorf("lock cluster (lease %s/%s): %w", LockNamespace, LockName, err)
		}
		if waitedOn != "" {
			st.ok(e.UI.T(i18n.LockTaken, now.Sub(start).Round(100*time.Millisecond)))
		}
		if took != nil {
			e.UI.Say(i18n.LockTookOver, took.describe(now))
		}
		l := &heldLock{cs: cs, token: token, duration: o.Duration, lease: taken, stopped: make(chan struct{})}
		lctx, cancel := context.WithCancelCause(ctx)
		l.cancel = cancel
		go l.renew(lctx)
		var once sync.Once
		return lctx, func() { once.Do(func() { l.release(ctx) }) }, nil
	}
}

// renew renews the lease a third of its duration after each renewal, until ctx ends. When another
// run took the lock over, it ends the run's context with errLockLost.
func (l *heldLock) renew(ctx context.Context) {
	defer close(l.stopped)
	leases := l.cs.CoordinationV1().Leases(LockNamespace)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.duration / 3):
		}
		l.mu.Lock()
		next := l.lease.DeepCopy()
		l.mu.Unlock()
		next.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		upd, err := leases.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			// Ours still, when an earlier renewal went through unanswered; else taken over.
			if cur, gerr := leases.Get(ctx, LockName, metav1.GetOptions{}); gerr == nil && cur.Annotations[lockAnnToken] == l.token {
				upd, err = cur, nil
			} else if gerr == nil || apierrors.IsNotFound(gerr) {
				l.cancel(errLockLost)
				return
			}
		}
		if err == nil {
			l.mu.Lock()
			l.lease = upd
			l.mu.Unlock()
		}
		// Other errors (the API server busy a moment): the next round tries again, well before the
		// lease expires.
	}
}

// release stops renewing and deletes the lease if this run still holds it. It runs even when the
// run was interrupted (Ctrl-C): the next run need not wait for the lock to expire.
func (l *heldLock) release(ctx context.Context) {
	l.cancel(context.Canceled)
	<-l.stopped
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	l.mu.Lock()
	uid, rv := l.lease.UID, l.lease.ResourceVersion
	l.mu.Unlock()
	leases := l.cs.CoordinationV1().Leases(LockNamespace)
	for range 5 {
		// The preconditions leave a lease another run has taken over since.
		err := leases.Delete(ctx, LockName,
			metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if !apierrors.IsConflict(err) {
			return
		}
		// A renewal cut short by the cancel may still have been written, with a resource version
		// this run never saw: the lease is ours still if it carries this run's token.
		cur, err := leases.Get(ctx, LockName, metav1.GetOptions{})
		if err != nil || cur.Annotations[lockAnnToken] != l.token {
			return
		}
		uid, rv = cur.UID, cur.ResourceVersion
	}
}

// stepper is a progress step that may not have started.
type stepper struct{ s *ui.Step }

func (s stepper) ok(text string) {
	if s.s != nil {
		s.s.OK(text)
	}
}

func (s stepper) fail(text string) {
	if s.s != nil {
		s.s.Fail(text, "")
	}
}

// lockErr prefers the reason the lock was lost over the error it caused (a cancelled request).
func lockErr(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errLockLost) {
		return fmt.Errorf("%w (%w)", errLockLost, err)
	}
	return err
}

func newLease(holder, command, token string, d time.Duration, now time.Time) *coordinationv1.Lease {
	secs := int32(d.Round(time.Second) / time.Second)
	t := metav1.MicroTime{Time: now}
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: LockName, Namespace: LockNamespace,
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "mlops-series"},
			Annotations: map[string]string{lockAnnCommand: command, lockAnnToken: token}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &t, RenewTime: &t},
	}
}

// leaseHolder reads who holds a lease (Holder empty: nobody).
func leaseHolder(l *coordinationv1.Lease) *LockHeldError {
	h := &LockHeldError{Command: l.Annotations[lockAnnCommand]}
	if l.Spec.HolderIdentity != nil {
		h.Holder = *l.Spec.HolderIdentity
	}
	if l.Spec.AcquireTime != nil {
		h.Since = l.Spec.AcquireTime.Time
	}
	return h
}

// leaseExpired: the holder has not renewed the lease for its duration, by the lease's renew time
// (the clocks of one machine, as with kind) or by what this run saw (seen: when the lease last
// changed here; this holds when the holder's clock is off).
func leaseExpired(l *coordinationv1.Lease, now, seen time.Time) bool {
	d := lockDuration
	if l.Spec.LeaseDurationSeconds != nil {
		d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	renewed := seen
	if l.Spec.RenewTime != nil {
		renewed = l.Spec.RenewTime.Time
	} else if l.Spec.AcquireTime != nil {
		renewed = l.Spec.AcquireTime.Time
	}
	return now.Sub(renewed) > d || now.Sub(seen) > d
}

// lockHolder names this run: user@host pid N.
func lockHolder() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return name + "@" + host + " pid " + strconv.Itoa(os.Getpid())
}

// lockToken tells this run's lock apart from another run's of the same process (tests) or user.
func lockToken() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("lock cluster: %w", err)
	}
	return hex.EncodeToString(b), nil
}
