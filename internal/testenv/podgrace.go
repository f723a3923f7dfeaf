package testenv

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// podGracePolicy is the MutatingAdmissionPolicy (and binding) capping pods'
// terminationGracePeriodSeconds at podGraceCap.
const (
	podGracePolicy = "testenv-pod-grace-period"
	podGraceCap    = 1
)

// createPodGracePolicy caps the termination grace period of new pods. Under KWOK pods go at once
// anyway; the grace period only matters to the namespace controller, which waits half the
// longest grace period of the pods left (15 s for the default 30 s) before it looks again, so
// deleting a namespace with pods took 10 s instead of 5 s.
func (e *Env) createPodGracePolicy(ctx context.Context) error {
	policy := &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: podGracePolicy, Labels: map[string]string{managedByLabel: managedBy}},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionv1.MatchResources{
				ResourceRules: []admissionv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionv1.RuleWithOperations{
						Operations: []admissionv1.OperationType{admissionv1.Create},
						Rule: admissionv1.Rule{
							APIGroups:   []string{""},
							APIVersions: []string{"v1"},
							Resources:   []string{"pods"},
						},
					},
				}},
			},
			MatchConditions: []admissionv1.MatchCondition{{
				Name: "grace-above-cap",
				Expression: fmt.Sprintf("!has(object.spec.terminationGracePeriodSeconds) || "+
					"object.spec.terminationGracePeriodSeconds > %d", podGraceCap),
			}},
			Mutations: []admissionv1.Mutation{{
				PatchType: admissionv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionv1.ApplyConfiguration{
					Expression: fmt.Sprintf("Object{spec: Object.spec{terminationGracePeriodSeconds: %d}}", podGraceCap),
				},
			}},
			FailurePolicy:      ptr.To(admissionv1.Ignore),
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
		},
	}
	if _, err := e.client.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create mutatingadmissionpolicy %s: %w", podGracePolicy, err)
	}
	binding := &admissionv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: podGracePolicy, Labels: map[string]string{managedByLabel: managedBy}},
		Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: podGracePolicy},
	}
	if _, err := e.client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create mutatingadmissionpolicybinding %s: %w", podGracePolicy, err)
	}
	return nil
}

// podGracePolicyActive reports whether a new pod would get the capped grace period, by creating
// one in dry-run mode.
func (e *Env) podGracePolicyActive(ctx context.Context) (bool, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "testenv-probe", Namespace: metav1.NamespaceDefault},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "example.invalid/probe"}}},
	}
	got, err := e.client.CoreV1().Pods(metav1.NamespaceDefault).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return false, err
	}
	return ptr.Deref(got.Spec.TerminationGracePeriodSeconds, -1) == podGraceCap, nil
}
