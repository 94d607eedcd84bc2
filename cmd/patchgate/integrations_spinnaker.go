package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/patchgate/patchgate/internal/config"
)

// spinnakerStageType is the stage type of the preconfigured webhook:
// pipelines name it in a stage's type, Deck shows it as a native stage.
const spinnakerStageType = "patchgate"

// defaultSpinnakerSecret is the reference written without --spinnaker-secret:
// Spinnaker's own form, to be pointed at the real secret.
const defaultSpinnakerSecret = "encrypted:s3!r:REGION!b:BUCKET!f:patchgate.yml!k:authorization"

// spinnakerSecretRE is Spinnaker's reference to a secret literal (kork-secrets):
// encrypted:<engine>!<key>:<value>!<key>:<value>...
var spinnakerSecretRE = regexp.MustCompile(`^encrypted:[a-z][a-z0-9-]*(![A-Za-z0-9_-]+:[^!\s]+)+$`)

// checkSpinnakerSecret refuses what Orca would not decrypt into a header
// value, naming the flag; the value itself is a reference, never a token.
func checkSpinnakerSecret(ref string) error {
	if strings.HasPrefix(ref, "encryptedFile:") {
		return fmt.Errorf("--spinnaker-secret: %q references a file; the header needs a secret literal, encrypted:<engine>!k:v…", ref)
	}
	if !spinnakerSecretRE.MatchString(ref) {
		return fmt.Errorf("--spinnaker-secret: want Spinnaker's secret reference encrypted:<engine>!<key>:<value>!… (e.g. encrypted:s3!r:us-west-2!b:mybucket!f:patchgate.yml!k:authorization or encrypted:secrets-manager!r:us-west-2!s:patchgate-authorization), not a token: got a value of %d characters that is not one", len(ref))
	}
	return nil
}

// orcaLocal is the part of orca-local.yml patchgate writes: one
// preconfigured webhook stage (orca-webhook WebhookProperties).
type (
	orcaLocal struct {
		Webhook orcaWebhooks `yaml:"webhook"`
	}
	orcaWebhooks struct {
		Preconfigured []orcaPreconfigured `yaml:"preconfigured"`
	}
	orcaPreconfigured struct {
		Label               string              `yaml:"label"`
		Type                string              `yaml:"type"`
		Enabled             bool                `yaml:"enabled"`
		Description         string              `yaml:"description"`
		Method              string              `yaml:"method"`
		URL                 string              `yaml:"url"`
		CustomHeaders       map[string][]string `yaml:"customHeaders"`
		SensitiveHeaders    map[string][]string `yaml:"sensitiveHeaders,omitempty"`
		Payload             string              `yaml:"payload"`
		WaitForCompletion   bool                `yaml:"waitForCompletion"`
		StatusURLResolution string              `yaml:"statusUrlResolution"`
		StatusJSONPath      string              `yaml:"statusJsonPath"`
		SuccessStatuses     string              `yaml:"successStatuses"`
		TerminalStatuses    string              `yaml:"terminalStatuses"`
		Parameters          []orcaParameter     `yaml:"parameters"`
	}
	orcaParameter struct {
		Label        string `yaml:"label"`
		Name         string `yaml:"name"`
		Description  string `yaml:"description"`
		Type         string `yaml:"type"`
		DefaultValue string `yaml:"defaultValue,omitempty"`
	}
)

// spinnakerPayload is the body Orca posts: the gate request, its values
// from the stage's parameters; the execution id makes each run its own
// stage attempt.
const spinnakerPayload = `{
  "service": "${parameterValues['service']}",
  "patch_id": "${parameterValues['patch_id']}",
  "stage": "${parameterValues['stage']}",
  "params": {"attempt": "${execution['id']}"}
}`

// spinnakerOrcaLocal writes orca-local.yml with the patchgate stage type.
// Orca decrypts the encrypted: reference when it starts; the secret holds
// the whole header value, "Bearer <token>".
func spinnakerOrcaLocal(opt integrationOptions) (generatedFile, error) {
	ref := opt.spinnakerSecret
	if ref == "" {
		ref = defaultSpinnakerSecret
	}
	auth := map[string][]string{"Authorization": {ref}}
	w := orcaPreconfigured{
		Label:       "patchgate",
		Type:        spinnakerStageType,
		Enabled:     true,
		Description: "Asks patchgate whether the patch may go to the next stage; waits while it says wait, fails on no_go",
		Method:      "POST",
		URL:         opt.url + "/v1/integrations/spinnaker",
		CustomHeaders: map[string][]string{
			"Content-Type": {"application/json"},
		},
		Payload:             spinnakerPayload,
		WaitForCompletion:   true,
		StatusURLResolution: "locationHeader",
		StatusJSONPath:      "$.status",
		SuccessStatuses:     "SUCCEEDED",
		TerminalStatuses:    "TERMINAL",
		Parameters: []orcaParameter{
			{Label: "Service", Name: "service", Description: "a service of patchgate's configuration", Type: "string"},
			{Label: "Stage", Name: "stage", Description: "the service's stage to ask about", Type: "string"},
			{Label: "Patch", Name: "patch_id", Description: "the patch being rolled out", Type: "string",
				DefaultValue: "${trigger['parameters']['patch_id']}"},
		},
	}
	if opt.sensitiveHeaders {
		w.SensitiveHeaders = auth
	} else {
		w.CustomHeaders["Authorization"] = auth["Authorization"]
	}
	comment := `Orca's preconfigured webhook stage "patchgate", generated by patchgate generate integrations.
Merge into orca-local.yml (Halyard: ~/.hal/<deployment>/profiles/orca-local.yml;
Operator: spec.spinnakerConfig.profiles.orca). Pipelines then use stages of type
"patchgate" with parameterValues service, stage and patch_id (spinnaker/*-stage.json).
Authorization is a Spinnaker secret reference, decrypted by Orca when it starts
(encrypted:<engine>!k:v…: s3, gcs, secrets-manager; see Spinnaker's "Secrets" reference).
The secret must hold the whole header value: "Bearer <token>" for a patchgate token
with scope gate.`
	if opt.spinnakerSecret == "" {
		comment += "\nREPLACE the reference below with yours, or pass --spinnaker-secret."
	}
	if opt.sensitiveHeaders {
		comment += `
sensitiveHeaders (Spinnaker with spinnaker/spinnaker#7421) keeps the decrypted header
out of the execution context; an older Orca ignores the key and sends no token.`
	} else {
		comment += `
Orca copies a preconfigured stage's customHeaders into the stage context, so the
decrypted header is visible in the execution JSON to whoever can read the pipeline's
executions (spinnaker/spinnaker#2787). Give Spinnaker a token with only the gate
scope, or, on a Spinnaker with sensitiveHeaders (spinnaker/spinnaker#7421), pass
--spinnaker-sensitive-headers.`
	}
	data, err := marshalYAML(comment, orcaLocal{Webhook: orcaWebhooks{Preconfigured: []orcaPreconfigured{w}}},
		yaml.UseLiteralStyleIfMultiline(true))
	if err != nil {
		return generatedFile{}, err
	}
	return generatedFile{
		path: "spinnaker/orca-local.yml",
		what: `Orca's preconfigured stage type "patchgate" (its Authorization a secret reference)`,
		data: data,
	}, nil
}

// spinnakerPipelineStage is a pipeline stage of the preconfigured type.
type spinnakerPipelineStage struct {
	Name            string            `json:"name"`
	RefID           string            `json:"refId"`
	Type            string            `json:"type"`
	ParameterValues map[string]string `json:"parameterValues"`
}

// spinnakerStage asks about one stage through the preconfigured patchgate
// stage type: Orca POSTs to /v1/integrations/spinnaker and polls the status
// URL from the Location header until SUCCEEDED (go) or TERMINAL (no_go);
// RUNNING (wait) keeps it polling. The pipeline parameter patch_id names
// the patch. No header or token is in the pipeline.
func spinnakerStage(svc *config.Service, st *config.Stage, _ integrationOptions) (generatedFile, error) {
	s := spinnakerPipelineStage{
		Name:  fmt.Sprintf("patchgate %s %s", svc.Name, st.Name),
		RefID: fmt.Sprintf("patchgate-%s-%s", svc.Name, fileName(st.Name)),
		Type:  spinnakerStageType,
		ParameterValues: map[string]string{
			"service":  svc.Name,
			"stage":    st.Name,
			"patch_id": "${trigger['parameters']['patch_id']}",
		},
	}
	data, err := marshalJSON(s)
	if err != nil {
		return generatedFile{}, err
	}
	return generatedFile{
		path: fmt.Sprintf("spinnaker/%s-%s-stage.json", k8sName(svc.Name), fileName(st.Name)),
		what: fmt.Sprintf("Spinnaker pipeline stage (type %s) for %s %s", spinnakerStageType, svc.Name, st.Name),
		data: data,
	}, nil
}
