using System.Text.Json.Nodes;
using CdsRisk.Core.WriteBack;
using CdsRisk.UnitTests.Cards;
using CdsRisk.UnitTests.Profiles;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace CdsRisk.UnitTests.WriteBack;

/// <summary>The examples in fhir-profiles/examples are what the builders write for <see cref="TestAssessments.HighRisk"/>, with server ids in place of urn:uuids.</summary>
public sealed class ExampleDriftTests
{
    private const string DeviceRef = "Device/cdsrisk-pre-1.0.0";
    private const string RiskRef = "RiskAssessment/example-high-risk";

    [Fact]
    public void DeviceExample_IsWhatTheBuilderWrites()
    {
        var device = WriteBackResources.ModelDevice(TestAssessments.ReferenceModel);
        device.Id = "cdsrisk-pre-1.0.0";
        AssertSame("Device-cdsrisk-pre-1.0.0.json", device);
    }

    [Fact]
    public void RiskAssessmentExample_IsWhatTheBuilderWrites()
    {
        var ra = WriteBackResources.RiskAssessment(TestAssessments.HighRisk(), DeviceRef);
        ra.Id = "example-high-risk";
        AssertSame("RiskAssessment-example-high-risk.json", ra);
    }

    [Fact]
    public void ProvenanceExample_IsWhatTheBuilderWrites()
    {
        AssertSame("Provenance-example-high-risk.json", WriteBackResources.Provenance(TestAssessments.HighRisk(), RiskRef, DeviceRef));
    }

    // CDSRISK_UPDATE_GOLDEN=1 rewrites the examples from the builders (review the diff before committing).
    private static void AssertSame(string file, Resource built)
    {
        var path = Path.Combine(ProfileValidator.ProfilesDirectory, "examples", file);
        if (Environment.GetEnvironmentVariable("CDSRISK_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, JsonNode.Parse(built.ToJson())!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        }

        var expected = JsonNode.Parse(File.ReadAllText(path));
        var actual = JsonNode.Parse(built.ToJson());
        var differences = new List<string>();
        GoldenJson.Compare("$", expected, actual, differences);
        Assert.True(differences.Count == 0, file + ":\n" + string.Join("\n", differences));
    }
}
