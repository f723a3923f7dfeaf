//go:build kind

package kindtest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStandinArchivesStoredOnce: each stand-in archive hack/kind/build-standins.sh keeps (so a
// fresh engine loads instead of rebuilding) is also, as a hard link, the archive `images load`
// imports into the node from the kind share folder: the disk holds it once. Stored twice, the
// stand-ins took 6 GB more and a fresh machine's run ran out of disk in the kind layer (doctor:
// 1.1 GiB free).
func TestStandinArchivesStoredOnce(t *testing.T) {
	cache := os.Getenv("MLOPS_CACHE")
	if cache == "" {
		fatal(t, "MLOPS_CACHE is not set: run through `make kind-test`")
	}
	user, err := os.UserCacheDir()
	if err != nil {
		fatal(t, err)
	}
	shared := filepath.Join(user, "mlops-series", "kind-share", "archives")
	standins, _ := filepath.Glob(filepath.Join(cache, "kind", "standins", "*.tar"))
	if len(standins) == 0 {
		fatalf(t, "no stand-in archives in %s: run `make kind-images`", filepath.Join(cache, "kind", "standins"))
	}
	entries, err := os.ReadDir(shared)
	if err != nil {
		fatalf(t, "kind share folder: %v", err)
	}
	var infos []os.FileInfo
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && filepath.Ext(e.Name()) == ".tar" {
			infos = append(infos, fi)
		}
	}
	for _, s := range standins {
		fi, err := os.Stat(s)
		if err != nil {
			fatal(t, err)
		}
		found := false
		for _, a := range infos {
			if os.SameFile(fi, a) {
				found = true
				break
			}
		}
		if !found {
			errorf(t, "%s has no hard link among the kept archives of %s: the disk holds it twice", filepath.Base(s), shared)
		}
	}
}
