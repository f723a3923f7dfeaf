package testenv

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestScratch(t *testing.T) {
	e := Require(t, Options{})
	c := e.Client()
	for _, tc := range []struct {
		name  string
		pods  bool
		grace *int64
	}{{"cm", false, nil}, {"pods", true, nil}, {"grace1", true, ptr.To[int64](1)}, {"grace0", true, ptr.To[int64](0)}} {
		ns := createNamespace(t, c, tc.name)
		if tc.pods {
			l := map[string]string{"app": "x"}
			tmpl := podTemplate(l)
			tmpl.Spec.TerminationGracePeriodSeconds = tc.grace
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: l}, Template: tmpl}}
			c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
			waitForReadyPod(t, c, ns, l)
		} else {
			c.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
		}
		start := time.Now()
		c.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{})
		waitFor(t, "gone", func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		t.Logf("%s: %s", tc.name, time.Since(start))
	}
}
