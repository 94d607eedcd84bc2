package main

import (
	"fmt"

	"github.com/patchgate/patchgate/internal/config"
)

// spinnakerStage is a pipeline stage of type webhook (orca-webhook
// WebhookStage.StageData) that waits for the gate's go.
type spinnakerWebhookStage struct {
	Name                string            `json:"name"`
	RefID               string            `json:"refId"`
	Type                string            `json:"type"`
	Method              string            `json:"method"`
	URL                 string            `json:"url"`
	CustomHeaders       map[string]string `json:"customHeaders"`
	Payload             spinnakerPayload  `json:"payload"`
	WaitForCompletion   bool              `json:"waitForCompletion"`
	StatusURLResolution string            `json:"statusUrlResolution"`
	StatusJSONPath      string            `json:"statusJsonPath"`
	SuccessStatuses     string            `json:"successStatuses"`
	TerminalStatuses    string            `json:"terminalStatuses"`
}

type spinnakerPayload struct {
	Service string            `json:"service"`
	PatchID string            `json:"patch_id"`
	Stage   string            `json:"stage"`
	Params  map[string]string `json:"params"`
}

// spinnakerStage asks POST /v1/integrations/spinnaker and polls the status
// URL from the Location header until SUCCEEDED (go) or TERMINAL (no_go);
// RUNNING (wait) keeps it polling. The pipeline parameter patch_id names
// the patch; the execution id makes each run its own stage attempt.
func spinnakerStage(svc *config.Service, st *config.Stage, opt integrationOptions) (generatedFile, error) {
	s := spinnakerWebhookStage{
		Name:   fmt.Sprintf("patchgate %s %s", svc.Name, st.Name),
		RefID:  fmt.Sprintf("patchgate-%s-%s", svc.Name, fileName(st.Name)),
		Type:   "webhook",
		Method: "POST",
		URL:    opt.url + "/v1/integrations/spinnaker",
		CustomHeaders: map[string]string{
			"Authorization": fmt.Sprintf("Bearer <gate token: Secret %s, key %s>", opt.secret, tokenSecretKey),
		},
		Payload: spinnakerPayload{
			Service: svc.Name,
			PatchID: "${trigger['parameters']['patch_id']}",
			Stage:   st.Name,
			Params:  map[string]string{"attempt": "${execution['id']}"},
		},
		WaitForCompletion:   true,
		StatusURLResolution: "locationHeader",
		StatusJSONPath:      "$.status",
		SuccessStatuses:     "SUCCEEDED",
		TerminalStatuses:    "TERMINAL",
	}
	data, err := marshalJSON(s)
	if err != nil {
		return generatedFile{}, err
	}
	return generatedFile{
		path: fmt.Sprintf("spinnaker/%s-%s-stage.json", k8sName(svc.Name), fileName(st.Name)),
		what: fmt.Sprintf("Spinnaker webhook stage for %s %s", svc.Name, st.Name),
		data: data,
	}, nil
}
