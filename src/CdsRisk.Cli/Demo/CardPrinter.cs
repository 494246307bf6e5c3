using System.Globalization;
using System.Text.Json.Nodes;

namespace CdsRisk.Cli.Demo;

/// <summary>Prints hook results for a reader at a terminal: a clinician's line first, the integrator's detail after.</summary>
internal sealed class CardPrinter(TextWriter output)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public void Discovery(IReadOnlyDictionary<string, JsonObject> services, string? problem)
    {
        output.WriteLine();
        if (problem is not null)
        {
            output.WriteLine($"Discovery: {problem} — calling the hooks without prefetch templates.");
            return;
        }

        output.WriteLine($"Discovery: {services.Count} service(s)");
        foreach (var (id, s) in services)
        {
            var prefetch = s["prefetch"] is JsonObject p ? p.Count : 0;
            output.WriteLine($"  {id,-28} hook {(string?)s["hook"],-13} {prefetch} prefetch template(s)  {(string?)s["title"]}");
        }
    }

    public void PatientHeader(int n, int total, DemoPatient patient, bool withPrefetch)
    {
        output.WriteLine();
        output.WriteLine(new string('=', 100));
        var expected = patient.ExpectedOutcome is null ? "" : $"   expected: {patient.ExpectedOutcome}{(patient.ExpectedPre is { } pre ? $", PRE {pre.ToString("0.000", Inv)}" : "")}";
        output.WriteLine($"[{n}/{total}] {patient.Scenario}  (Patient/{patient.PatientId}){expected}");
        output.WriteLine(withPrefetch ? "        the EHR sends prefetch" : "        no prefetch: the service fetches from the FHIR server with the EHR's token");
    }

    public void HookResult(string label, HookResult result)
    {
        var timing = $"{result.Elapsed.TotalMilliseconds.ToString("0", Inv)} ms";
        var prefetch = result.PrefetchKeys > 0 ? $", {result.PrefetchKeys} prefetch keys" : "";
        if (!result.Ok)
        {
            var why = result.Status == 0 ? "no answer" : $"HTTP {result.Status}";
            output.WriteLine($"  {label}: {why} after {timing}{prefetch}: {result.Problem ?? Describe(result.Body)}");
            var hint = result.Status switch
            {
                401 => "the service did not accept the demo client's JWT (its Auth:Clients configuration)",
                404 => "the service has no such CDS service id (yet)",
                412 => "the service found required data missing and could not fetch it (CDS Hooks 2.0 §Prefetch)",
                _ => null,
            };
            if (hint is not null) output.WriteLine($"      ({hint})");
            return;
        }

        if (!warned && result.ReferenceModel)
        {
            // The model card says notForClinicalUse: said before the first card that shows its PRE, and again under the table.
            Banner();
            warned = true;
        }

        var cards = result.Cards;
        output.WriteLine($"  {label}: {cards.Count} card(s) in {timing}{prefetch}{(cards.Count == 0 ? ": nothing to say ({\"cards\":[]})" : "")}");
        foreach (var card in cards)
        {
            Card(card);
        }
    }

    /// <summary>The warning every run of the bundled model must carry, said once at the top and again under the table.</summary>
    public const string ReferenceModelWarning =
        "The PRE model is the bundled REFERENCE MODEL, trained on synthetic data only: NOT FOR CLINICAL USE. Its scores show how the service works, nothing about a patient.";

    private bool warned;

    private void Banner() => output.WriteLine("  NOTE: " + ReferenceModelWarning);

    private void Card(JsonObject card)
    {
        var indicator = ((string?)card["indicator"] ?? "info").ToUpperInvariant();
        output.WriteLine($"    [{indicator}] {(string?)card["summary"]}");
        // The card as the clinician sees it: the Markdown detail is short (the decision, the criteria that decide it, what next).
        if ((string?)card["detail"] is { Length: > 0 } shown)
        {
            foreach (var line in shown.TrimEnd().Split('\n'))
            {
                output.WriteLine(line.Length == 0 ? "" : "      | " + line);
            }
        }

        output.WriteLine($"      source: {(string?)card["source"]?["label"]}");
        if (card["extension"]?["cdsrisk"] is not JsonObject risk)
        {
            output.WriteLine("      (no cdsrisk extension on this card: a provisional service answer)");
        }
        else
        {
            var pre = risk["preScore"] is JsonValue v && v.TryGetValue<double>(out var d) ? d.ToString("0.000", Inv) : "not scored";
            output.WriteLine($"      outcome: {(string?)risk["outcome"] ?? "?"}   PRE: {pre} (high risk at >= 0.5)");
            if (risk["model"] is JsonObject model)
            {
                var sha = (string?)model["sha256"];
                var notForClinicalUse = (bool?)model["notForClinicalUse"] == true ? " — reference model, NOT FOR CLINICAL USE" : "";
                output.WriteLine($"      model: {(string?)model["id"]} {(string?)model["version"]}{(sha is { Length: > 12 } ? $" (sha256 {sha[..12]}…)" : "")}{notForClinicalUse}");
            }

            Criteria(risk["criteria"] as JsonObject);
            FollowUp(risk["followUp"] as JsonObject);
        }

        foreach (var s in card["suggestions"] as JsonArray ?? [])
        {
            output.WriteLine($"      suggestion: {(string?)s?["label"]}{((bool?)s?["isRecommended"] == true ? " (recommended)" : "")}");
            foreach (var resource in (s?["actions"] as JsonArray ?? []).Select(a => a?["resource"]).OfType<JsonObject>())
            {
                var actuality = (string?)resource["actuality"] is { } a ? $" (actuality {a})" : "";
                output.WriteLine($"        creates a draft {(string?)resource["resourceType"]}{actuality}");
            }
        }

        foreach (var l in card["links"] as JsonArray ?? [])
        {
            output.WriteLine($"      link: {(string?)l?["label"]} → {(string?)l?["url"]}");
        }
    }

    // On study (issue 17): the follow-up extension in one line per status, and the open safety signals.
    private void FollowUp(JsonObject? followUp)
    {
        if (followUp is null)
        {
            return;
        }

        var items = (followUp["items"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        output.WriteLine($"      follow-up: anchored on {(string?)followUp["anchor"]?["description"] ?? "no resection on record"} {((string?)followUp["anchor"]?["date"] is { Length: >= 10 } day ? day[..10] : "")}, {items.Count} items");
        foreach (var status in new[] { "overdue", "due", "done" })
        {
            var ids = items.Where(i => (string?)i["status"] == status).Select(i => (string?)i["id"]).ToList();
            if (ids.Count > 0)
            {
                output.WriteLine($"        {status}: {string.Join(", ", ids)}");
            }
        }

        foreach (var signal in (followUp["signals"] as JsonArray ?? []).OfType<JsonObject>())
        {
            output.WriteLine($"        signal: {(string?)signal["term"]}, CTCAE grade {(signal["grade"] is JsonValue g ? g.ToString() : "not graded")}: {(string?)signal["reason"]}");
        }
    }

    // The criteria that decided the outcome: every one not passed; when all passed, say so.
    private void Criteria(JsonObject? criteria)
    {
        if (criteria is null || criteria.Count == 0)
        {
            output.WriteLine("      criteria: none reported");
            return;
        }

        var deciding = criteria.Where(c => (string?)c.Value?["status"] != "pass").ToList();
        if (deciding.Count == 0)
        {
            output.WriteLine($"      criteria: all {criteria.Count} pass");
            return;
        }

        output.WriteLine($"      criteria: {criteria.Count - deciding.Count} of {criteria.Count} pass; deciding:");
        foreach (var (id, c) in deciding.OrderBy(c => Rank((string?)c.Value?["status"])))
        {
            var status = (string?)c?["status"] ?? "?";
            var mark = status switch { "fail" => "FAIL", "unknown" => "????", "to-be-confirmed" => "TBC ", "pending" => "... ", _ => status };
            var evidence = Evidence(c?["evidence"]);
            output.WriteLine($"        [{mark}] {id}: {(string?)c?["reason"]}{(evidence.Length > 0 ? $"  ({evidence})" : "")}");
        }
    }

    private static int Rank(string? status) => status switch { "fail" => 0, "unknown" => 1, _ => 2 };

    private static string Evidence(JsonNode? evidence) => evidence switch
    {
        null => "",
        JsonValue v => v.ToString(),
        JsonArray a => string.Join(", ", a.Select(e => e is JsonObject o ? (string?)o["reference"] ?? (string?)o["display"] ?? o.ToJsonString() : e?.ToString()).Take(4)),
        JsonObject o => (string?)o["reference"] ?? o.ToJsonString(),
        _ => evidence.ToJsonString(),
    };

    public void RiskAssessments(string fhirBase, string patientId, RiskAssessmentList list)
    {
        if (list.Problem is not null)
        {
            output.WriteLine($"  RiskAssessment: could not search the FHIR server ({list.Problem})");
            return;
        }

        if (list.Items.Count == 0)
        {
            output.WriteLine($"  RiskAssessment: none written yet ({fhirBase}/RiskAssessment?subject=Patient/{patientId})");
            return;
        }

        foreach (var ra in list.Items)
        {
            var p = ra["prediction"]?[0]?["probabilityDecimal"];
            output.WriteLine($"  RiskAssessment: {fhirBase}/RiskAssessment/{(string?)ra["id"]}  status {(string?)ra["status"]}" +
                             $"{(p is null ? "" : $", probability {p}")}, {(string?)ra["occurrenceDateTime"]}");
        }

        output.WriteLine($"                  with {list.ProvenanceCount} Provenance record(s)");
    }

    /// <summary>Where each hook call's RiskAssessment write-back ended (from the audit API).</summary>
    public void WriteBacks(IReadOnlyDictionary<string, string> states)
    {
        if (states.Count > 0)
        {
            output.WriteLine($"  write-back per hook call: {string.Join(", ", states.Values)}");
        }
    }

    /// <summary>
    /// One row per scenario: what it was designed to show, what the chart showed (after the images were read and the write-back
    /// done), what the order hooks answered, and pass or FAIL; the reasons for each FAIL under the table.
    /// </summary>
    public void Summary(IReadOnlyList<SummaryRow> rows)
    {
        output.WriteLine();
        output.WriteLine(new string('=', 120));
        output.WriteLine($"{"scenario",-32} {"expected",-13} {"outcome",-13} {"check",-5} {"PRE",6} {"ref",6} {"cards",5} {"RA",3}  order cards");
        foreach (var r in rows)
        {
            var a = r.View.Assessment;
            var outcome = r.View.Ok ? r.Outcome ?? "(none)" : $"HTTP {r.View.Status}";
            var pre = a?["preScore"] is JsonValue v && v.TryGetValue<double>(out var d) ? d.ToString("0.000", Inv) : "-";
            var refPre = r.Patient.ExpectedPre?.ToString("0.000", Inv) ?? "-";
            var orders = string.Join("; ", new[] { r.Order, r.Drug }.OfType<HookResult>().Select(o => o.Ok ? string.Join("+", o.CardKinds) : $"HTTP {o.Status}"));
            var check = r.Problems.Count == 0 ? "pass" : "FAIL";
            output.WriteLine($"{r.Patient.Scenario,-32} {r.Patient.ExpectedOutcome ?? "-",-13} {outcome,-13} {check,-5} {pre,6} {refPre,6} {r.View.Cards.Count,5} {r.Written.Items.Count,3}  {(orders.Length == 0 ? "-" : orders)}");
        }

        output.WriteLine(new string('-', 120));
        var failed = rows.Where(r => r.Problems.Count > 0).ToList();
        output.WriteLine($"{rows.Count - failed.Count} of {rows.Count} scenarios show what they were designed to show.");
        foreach (var r in failed)
        {
            output.WriteLine($"  FAIL {r.Patient.Scenario}: {string.Join("; ", r.Problems)}");
        }

        output.WriteLine("RA = RiskAssessments on the FHIR server for the patient, counted after every write-back of the scenario settled.");
        if (rows.Any(r => r.View.ReferenceModel || (r.Order?.ReferenceModel ?? false)))
        {
            output.WriteLine("WARNING: " + ReferenceModelWarning);
        }
    }

    /// <summary>The SMART app's launch URL for the patient (issue 18): open it in a browser to see the assessment's detail view.</summary>
    public void AppLink(string? launchUrl)
    {
        if (launchUrl is not null) output.WriteLine($"  SMART app (open in a browser): {launchUrl}");
    }

    public void Running(Uri service, string fhirBase, string dicomWeb, string envFile, string jwksPath, string logPath)
    {
        var b = service.ToString().TrimEnd('/');
        output.WriteLine();
        output.WriteLine("The service keeps running:");
        output.WriteLine($"  CDS Hooks discovery   GET  {b}/cds-services");
        output.WriteLine($"  patient-view          POST {b}/cds-services/{DemoEhr.PatientViewService}");
        output.WriteLine($"  order-select          POST {b}/cds-services/{DemoEhr.OrderSelectService}");
        output.WriteLine($"  order-sign            POST {b}/cds-services/{DemoEhr.OrderSignService}");
        output.WriteLine($"  Swagger UI                 {b}/swagger");
        output.WriteLine($"  FHIR server                {fhirBase}   (token: fhirToken in {envFile})");
        output.WriteLine($"  DICOMweb (Orthanc)         {dicomWeb}");
        output.WriteLine($"  demo client JWKS           {jwksPath}   (issuer {DemoCommand.DemoIssuer})");
        output.WriteLine($"  service log                {logPath}");
        output.WriteLine("Press Ctrl-C to stop the service and the test servers.");
    }

    private static string Describe(JsonNode? body) => body is null ? "" : body.ToJsonString() is var s && s.Length > 300 ? s[..300] + "…" : body.ToJsonString();

}
