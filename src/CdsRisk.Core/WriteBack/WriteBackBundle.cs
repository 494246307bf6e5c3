using CdsRisk.Core.Cards;
using Hl7.Fhir.Model;

namespace CdsRisk.Core.WriteBack;

/// <summary>How one resource is written so that a retry never duplicates it.</summary>
/// <param name="Method">POST (conditional create) or PUT (update on a deterministic id, or conditional update on an identifier).</param>
/// <param name="Url">Relative request URL: "Device", "RiskAssessment?identifier=…" or "Provenance/{id}".</param>
/// <param name="IfNoneExist">The If-None-Exist query for a conditional create, e.g. "identifier=system%7Cvalue"; null for PUT.</param>
/// <param name="FullUrl">"urn:uuid:…" under which the other entries of the transaction refer to this one.</param>
public sealed record IdempotentWrite(Resource Resource, Bundle.HTTPVerb Method, string Url, string? IfNoneExist, string FullUrl)
{
    public Bundle.EntryComponent ToEntry() => new()
    {
        FullUrl = FullUrl,
        Resource = Resource,
        Request = new Bundle.RequestComponent { Method = Method, Url = Url, IfNoneExist = IfNoneExist },
    };
}

/// <summary>The write-back as one FHIR transaction: Device, RiskAssessment and Provenance, each idempotent.</summary>
public static class WriteBackBundle
{
    /// <summary>The If-None-Exist query that matches an identifier exactly (FHIR R4 §search token "system|value").</summary>
    public static string IfNoneExist(Identifier identifier) =>
        "identifier=" + Uri.EscapeDataString(identifier.System + "|" + identifier.Value);

    /// <summary>
    /// The three writes in transaction order; the RiskAssessment and Provenance refer to the others by their urn:uuid. The
    /// RiskAssessment is a conditional update on its identifier (FHIR R4 http §3.1.0.4.3): created the first time, replaced by a
    /// later assessment of the same (server, patient, study, model), so exactly one is current.
    /// </summary>
    public static IReadOnlyList<IdempotentWrite> Writes(AssessmentInput input)
    {
        var deviceId = WriteBackResources.DeviceIdentifier(input.Model);
        var riskId = WriteBackResources.RiskAssessmentIdentifier(input);
        var deviceUrl = "urn:uuid:" + DeterministicUuid.Create("device|" + deviceId.Value);
        var riskUrl = "urn:uuid:" + DeterministicUuid.Create("risk-assessment|" + riskId.Value);
        var provenanceUrl = "urn:uuid:" + DeterministicUuid.Create("provenance|" + riskId.Value);

        var provenance = WriteBackResources.Provenance(input, riskUrl, deviceUrl);
        return
        [
            new(WriteBackResources.ModelDevice(input.Model), Bundle.HTTPVerb.POST, "Device", IfNoneExist(deviceId), deviceUrl),
            new(WriteBackResources.RiskAssessment(input, deviceUrl), Bundle.HTTPVerb.PUT, "RiskAssessment?" + IfNoneExist(riskId), null, riskUrl),
            new(provenance, Bundle.HTTPVerb.PUT, "Provenance/" + provenance.Id, null, provenanceUrl),
        ];
    }

    public static Bundle Transaction(AssessmentInput input) => new()
    {
        Type = Bundle.BundleType.Transaction,
        Entry = [.. Writes(input).Select(w => w.ToEntry())],
    };
}
