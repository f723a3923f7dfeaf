//go:build !unix

package testenv

import (
	"errors"
	"os/exec"
)

func setProcessGroup(*exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, _ bool) error {
	if cmd.Process == nil {
		return errors.New("no process")
	}
	return cmd.Process.Kill()
}
