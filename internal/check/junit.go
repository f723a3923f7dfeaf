package check

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"time"
)

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
	// SystemErr is what client-go logged during a failed check.
	SystemErr string `xml:"system-err,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnit renders results as a JUnit XML report, one suite per chapter.
func JUnit(results []Result) ([]byte, error) {
	var doc junitSuites
	idx := map[string]int{}
	for _, r := range results {
		i, ok := idx[r.Chapter]
		if !ok {
			doc.Suites = append(doc.Suites, junitSuite{Name: r.Chapter})
			i = len(doc.Suites) - 1
			idx[r.Chapter] = i
		}
		s := &doc.Suites[i]
		c := junitCase{Name: r.Name, Classname: r.Chapter + "." + r.Type, Time: secs(r.Duration)}
		switch {
		case r.Skipped:
			c.Skipped = &junitSkipped{Message: r.Message}
			s.Skipped++
		case !r.Passed:
			c.Failure = &junitFailure{Message: firstLine(r.Message), Body: r.Message + "\nread: " + r.Read}
			c.SystemErr = strings.Join(r.Log, "\n")
			s.Failures++
		default:
			c.SystemOut = r.Message
		}
		s.Tests++
		d, _ := time.ParseDuration(s.Time + "s")
		s.Time = secs(d + r.Duration)
		s.Cases = append(s.Cases, c)
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// WriteJUnit writes the JUnit report to path.
func WriteJUnit(path string, results []Result) error {
	b, err := JUnit(results)
	if err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
