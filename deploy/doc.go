// Package deploy holds what puts patchgate where its users run: the Helm
// chart (helm/patchgate), the plain manifests rendered from it
// (kubernetes/) and the Dockerfile. Its tests lint and render the chart
// through Helm's Go module and decode every object into the Kubernetes API
// types; Helm stays a test dependency, out of the patchgate binary.
package deploy
