package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/klog/v2"
)

// forwardError logs what client-go's port-forward logs when the pod refuses a connection, through
// the context's logger as the port-forward does.
func forwardError(ctx context.Context) {
	utilruntime.HandleErrorWithLogger(klog.FromContext(ctx),
		errors.New("error forwarding port 5000 to pod mlflow-0, uid : dial tcp 127.0.0.1:5000: connect: connection refused"),
		"An error occurred forwarding", "localPort", 41234, "remotePort", 5000)
}

const forwardLine = "An error occurred forwarding: error forwarding port 5000 to pod mlflow-0, uid : dial tcp 127.0.0.1:5000: connect: connection refused (localPort=41234 remotePort=5000)"

func TestLibLog(t *testing.T) {
	for _, tt := range []struct {
		name  string
		level Level
		shown bool
	}{
		{"verbose shows each line", Verbose, true},
		{"normal keeps them for the failing step", Normal, false},
		{"quiet keeps them too", Quiet, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var errw bytes.Buffer
			u := &UI{Out: &bytes.Buffer{}, Err: &errw, Level: tt.level}
			log := u.LibLog()
			ctx := klog.NewContext(t.Context(), log.Logger())
			forwardError(ctx)
			forwardError(ctx)
			klog.FromContext(ctx).V(4).Info("stream details nobody asked for")
			klog.FromContext(ctx).WithValues("pod", "mlflow-0").Info("Handling connection\nfor 5000")

			want := []string{forwardLine, forwardLine, "Handling connection for 5000 (pod=mlflow-0)"}
			if got := log.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if shown := strings.Contains(errw.String(), "client-go: "+forwardLine); shown != tt.shown {
				t.Errorf("line shown = %v, want %v; output:\n%s", shown, tt.shown, errw.String())
			}
			if !tt.shown && errw.Len() > 0 {
				t.Errorf("output without -v: %q", errw.String())
			}
			if strings.Contains(errw.String(), "nobody asked") {
				t.Errorf("V(4) detail was shown:\n%s", errw.String())
			}
		})
	}
}

func TestLibLogIsBounded(t *testing.T) {
	log := (*UI)(nil).LibLog()
	for i := range maxLibLines + 10 {
		log.Logger().Info(fmt.Sprintf("line %d", i))
	}
	got := log.Lines()
	if len(got) != maxLibLines+1 || got[0] != "line 0" || got[maxLibLines] != "(10 more lines)" {
		t.Fatalf("kept %d lines: first %q, last %q", len(got), got[0], got[len(got)-1])
	}
}

func TestLogSummary(t *testing.T) {
	for _, tt := range []struct {
		lines []string
		want  string
	}{
		{nil, ""},
		{[]string{forwardLine}, "client-go: " + forwardLine},
		{[]string{forwardLine, "b", "c"}, "client-go: " + forwardLine + " (+2 more; -v shows them)"},
		{[]string{strings.Repeat("x", 300), "b"}, "client-go: " + strings.Repeat("x", 240) + "… (+1 more; -v shows them)"},
	} {
		if got := LogSummary(tt.lines); got != tt.want {
			t.Errorf("LogSummary(%d lines) = %q, want %q", len(tt.lines), got, tt.want)
		}
	}
}
