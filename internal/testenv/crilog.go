package testenv

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// AppendCRILog appends lines to path (created if absent) in the CRI container-log format
// ("<RFC3339Nano time> stdout F <line>"), the format a PodLogs.LogsFile must have: KWOK reads it
// with the kubelet's log reader, which refuses plain text.
func AppendCRILog(path string, lines ...string) error {
	var b strings.Builder
	for _, l := range lines {
		for part := range strings.SplitSeq(strings.TrimSuffix(l, "\n"), "\n") {
			fmt.Fprintf(&b, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), part)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("append cri log %s: %w", path, err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return fmt.Errorf("append cri log %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append cri log %s: %w", path, err)
	}
	return nil
}
