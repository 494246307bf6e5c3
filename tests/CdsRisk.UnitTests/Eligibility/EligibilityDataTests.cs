using System.Text.Json.Nodes;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.UnitTests.Eligibility;

public sealed class EligibilityDataTests
{
    private static string Embedded(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Eligibility", "Data", name));

    [Fact]
    public void EmbeddedFiles_LoadWithTheProtocolThresholds()
    {
        var data = EligibilityData.LoadEmbedded();
        var p = data.Protocol;
        Assert.Equal("NCT07282184", p.ProtocolId);
        Assert.Equal(0.5, p.PreThreshold);
        Assert.Equal(7, p.ChildPughMaxScore);
        Assert.Equal(1, p.EcogMax);
        Assert.Equal((18, 75), (p.MinAgeYears, p.MaxAgeYears));
        Assert.Equal(31, p.MriWindowDays);
        Assert.Equal(30m, p.RenalSevereBelow);
        Assert.All(ValueSets.RequiredIds, id => Assert.True(data.ValueSets.Contains(id), id));
    }

    [Fact]
    public void SiteFolder_OverridesTheBuiltInFiles()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var protocol = JsonNode.Parse(Embedded(EligibilityData.ProtocolFileName))!;
            protocol["childPugh"]!["maxScore"] = 6;
            File.WriteAllText(Path.Combine(dir.FullName, EligibilityData.ProtocolFileName), protocol.ToJsonString());
            File.WriteAllText(Path.Combine(dir.FullName, EligibilityData.ValueSetsFileName), Embedded(EligibilityData.ValueSetsFileName));

            Assert.Equal(6, EligibilityData.Load(dir.FullName).Protocol.ChildPughMaxScore);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("preScore.threshold", "1.5", "$.preScore.threshold", "outside")]
    [InlineData("childPugh.maxScore", "\"seven\"", "$.childPugh.maxScore", "must be a number")]
    [InlineData("windowsDays.labs", "0", "$.windowsDays.labs", "outside")]
    [InlineData("age.maxYears", "10", "$.age.maxYears", ">= minYears")]
    [InlineData("ecog.max", "1.5", "$.ecog.max", "whole number")]
    [InlineData("bclc.admittedStages", "[\"0\", \"E\"]", "$.bclc.admittedStages[1]", "not a BCLC stage")]
    [InlineData("conflicts", "null", "$.conflicts", "is required")]
    [InlineData("preScore.keyInputs", "[\"afp_ng_ml\", \"afp\"]", "$.preScore.keyInputs[1]", "not a model input")]
    [InlineData("cardiac.recentEventMonths", "0", "$.cardiac.recentEventMonths", "outside")]
    public void InvalidProtocol_FailsNamingFileAndField(string field, string json, string path, string problem)
    {
        var root = JsonNode.Parse(Embedded(EligibilityData.ProtocolFileName))!;
        var parts = field.Split('.');
        var parent = parts[..^1].Aggregate(root, (n, p) => n[p]!);
        parent[parts[^1]] = JsonNode.Parse(json);

        var e = Assert.Throws<EligibilityDataException>(() => EligibilityData.ParseProtocol(root.ToJsonString(), "site/nct07282184.protocol.json"));
        Assert.Equal("site/nct07282184.protocol.json", e.File);
        Assert.Equal(path, e.JsonPath);
        Assert.Contains(problem, e.Problem);
        Assert.StartsWith("site/nct07282184.protocol.json: " + path, e.Message);
    }

    [Fact]
    public void ProtocolThatIsNotJson_FailsNamingTheLine()
    {
        var e = Assert.Throws<EligibilityDataException>(() => EligibilityData.ParseProtocol("{\n \"protocolId\": ", "p.json"));
        Assert.Equal("$", e.JsonPath);
        Assert.Contains("not valid JSON", e.Problem);
    }

    [Fact]
    public void ValueSets_MissingRequiredSet_FailsNamingIt()
    {
        var root = JsonNode.Parse(Embedded(EligibilityData.ValueSetsFileName))!;
        root["valueSets"]!.AsObject().Remove("obs-ecog");
        var e = Assert.Throws<EligibilityDataException>(() => EligibilityData.ParseValueSets(root.ToJsonString(), "vs.json"));
        Assert.Equal("$.valueSets['obs-ecog']", e.JsonPath);
    }

    [Fact]
    public void ValueSets_CodeWithoutSystem_FailsNamingTheEntry()
    {
        var root = JsonNode.Parse(Embedded(EligibilityData.ValueSetsFileName))!;
        root["valueSets"]!["hcc"]!["codes"]![1]!.AsObject().Remove("system");
        var e = Assert.Throws<EligibilityDataException>(() => EligibilityData.ParseValueSets(root.ToJsonString(), "vs.json"));
        Assert.Equal("$.valueSets['hcc'].codes[1].system", e.JsonPath);
    }

    [Fact]
    public void ValueSets_BadDrugClassAction_FailsNamingIt()
    {
        var root = JsonNode.Parse(Embedded(EligibilityData.ValueSetsFileName))!;
        root["drugClasses"]![2]!["onMatch"] = "warn";
        var e = Assert.Throws<EligibilityDataException>(() => EligibilityData.ParseValueSets(root.ToJsonString(), "vs.json"));
        Assert.Equal("$.drugClasses[2].onMatch", e.JsonPath);
    }

    [Fact]
    public void MissingSiteFile_FailsNamingThePath()
    {
        var e = Assert.Throws<EligibilityDataException>(() => EligibilityData.LoadFromDirectory("/nonexistent-site-folder"));
        Assert.Contains("nct07282184.protocol.json", e.File);
    }
}

public sealed class EligibilityDataValueTests
{
    [Fact]
    public void ValueSets_GradeValueOutOfRange_FailsNamingTheEntry()
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Eligibility", "Data", EligibilityData.ValueSetsFileName)))!;
        root["valueSets"]!["ascites-grade"]!["codes"]![2]!["value"] = "3";
        var e = Assert.Throws<EligibilityDataException>(() => EligibilityData.ParseValueSets(root.ToJsonString(), "vs.json"));
        Assert.Equal("$.valueSets['ascites-grade'].codes[2].value", e.JsonPath);
    }
}
