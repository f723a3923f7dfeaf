package docs

import (
	"fmt"
	"strings"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/series"
)

// Footprint targets (issue: core four ≤ 3 GiB requested, any single closure ≤ 4 GiB).
const (
	CoreTargetMiB    = 3 * 1024
	ClosureTargetMiB = 4 * 1024
)

// CoreChapters are the series' core toolchain, measured together.
var CoreChapters = []string{"chapter-5", "chapter-6", "chapter-8", "chapter-10"}

// FootprintRow is one line of the footprint table.
type FootprintRow struct {
	// Name is a chapter ID, or "core" for the core chapters together.
	Name string `json:"name"`
	// Own is what the chapter's own components request; Closure adds what it requires.
	Own     deploy.Footprint `json:"own"`
	Closure deploy.Footprint `json:"closure"`
	// Chapters lists what Closure covers.
	Chapters  []string `json:"chapters"`
	TargetMiB int      `json:"targetMiB"`
}

// Within says whether the closure's memory request meets its target.
func (r FootprintRow) Within() bool { return r.Closure.MiB() <= int64(r.TargetMiB) }

// Footprints sums the requests per available chapter (its own components and its closure) and for
// the core chapters that are available, together (each component counted once).
func Footprints(lib *series.Library, info map[string][]ComponentInfo) []FootprintRow {
	var rows []FootprintRow
	for _, id := range lib.IDs() {
		row := FootprintRow{Name: id, TargetMiB: ClosureTargetMiB}
		seen := map[string]bool{}
		for _, c := range info[id] {
			row.Closure.Add(c.Footprint)
			if c.Chapter == id {
				row.Own.Add(c.Footprint)
			}
			if !seen[c.Chapter] {
				seen[c.Chapter] = true
				row.Chapters = append(row.Chapters, c.Chapter)
			}
		}
		rows = append(rows, row)
	}
	core := FootprintRow{Name: "core", TargetMiB: CoreTargetMiB}
	counted := map[string]bool{}
	for _, id := range CoreChapters {
		if _, ok := lib.Chapters[id]; !ok {
			continue
		}
		core.Chapters = append(core.Chapters, id)
		for _, c := range info[id] {
			key := c.Namespace + "/" + c.Name
			if !counted[key] {
				counted[key] = true
				core.Closure.Add(c.Footprint)
			}
		}
	}
	if len(core.Chapters) > 0 {
		core.Own = core.Closure
		rows = append(rows, core)
	}
	return rows
}

func renderFootprint(b *strings.Builder, rows []FootprintRow, t texts) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## %s\n\n%s\n\n", t.footprintTitle, t.footprintIntro)
	fmt.Fprintf(b, "%s\n", t.footprintHeader)
	for _, r := range rows {
		name := fmt.Sprintf("[%s](%s.md)", r.Name, r.Name)
		if r.Name == "core" {
			name = t.footprintCore + " (" + strings.Join(r.Chapters, ", ") + ")"
		}
		ok := "✓"
		if !r.Within() {
			ok = "✗"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s %d |\n", name, withOptional(r.Own.MiB(), r.Own.OptionalMiB()),
			withOptional(r.Own.MilliCPU(), r.Own.OptionalCPU.MilliValue()),
			withOptional(r.Closure.MiB(), r.Closure.OptionalMiB()), withOptional(r.Closure.MilliCPU(), r.Closure.OptionalCPU.MilliValue()),
			ok, r.TargetMiB)
	}
}

// withOptional is n, followed by " (+opt)" when optional spawned pods add opt while a run lasts.
func withOptional(n, opt int64) string {
	if opt == 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d (+%d)", n, opt)
}
