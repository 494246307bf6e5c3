using System.Text.Json.Nodes;
using CdsRisk.Core.Scoring;

namespace CdsRisk.UnitTests.Scoring;

public sealed class PreScorerParityTests : IClassFixture<BundledScorerFixture>
{
    private readonly PreScorer _scorer;

    public PreScorerParityTests(BundledScorerFixture fixture) => _scorer = fixture.Scorer;

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in ModelFixtures.ParityCases()["cases"]!.AsArray())
        {
            data.Add(c!["name"]!.GetValue<string>());
        }
        return data;
    }

    private static JsonNode Case(string name) =>
        ModelFixtures.ParityCases()["cases"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Score_MatchesPyTorchWithin1e5_ForCommittedTensors(string name)
    {
        var c = Case(name);
        var image = ModelFixtures.ReadFloats(Path.Combine(ModelFixtures.ParityDirectory, c["image"]!.GetValue<string>()));

        var score = _scorer.Score(image, ModelFixtures.Features(c["clinicalFeatures"]));

        Assert.Equal(c["pre"]!.GetValue<double>(), score.Pre, 1e-5);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ClinicalTensor_MatchesPython_AndReportsImputedFeatures(string name)
    {
        var c = Case(name);

        var tensor = _scorer.BuildClinicalTensor(ModelFixtures.Features(c["clinicalFeatures"]));

        var expected = c["clinicalTensor"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        Assert.Equal(expected.Length, tensor.Values.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], tensor.Values[i], 1e-5f);
        }
        Assert.Equal(c["imputed"]!.AsArray().Select(v => v!.GetValue<string>()), tensor.ImputedFeatures);
    }

    [Fact]
    public void Score_ReportsImputedFeatures_WhenAfpAndPlateletsAreMissing()
    {
        var c = Case("held-out-afp-and-platelets-missing");
        var image = ModelFixtures.ReadFloats(Path.Combine(ModelFixtures.ParityDirectory, c["image"]!.GetValue<string>()));

        var score = _scorer.Score(image, ModelFixtures.Features(c["clinicalFeatures"]));

        Assert.Equal([ClinicalFeatureNames.AfpNgPerMl, ClinicalFeatureNames.PlateletsE9PerL], score.ImputedFeatures);
    }

    [Fact]
    public void Score_CarriesModelIdentity_FromTheCard()
    {
        var c = Case("phantom-high-risk");
        var image = ModelFixtures.ReadFloats(Path.Combine(ModelFixtures.ParityDirectory, c["image"]!.GetValue<string>()));

        var score = _scorer.Score(image, ModelFixtures.Features(c["clinicalFeatures"]));

        Assert.Equal("pre-reference", score.ModelId);
        Assert.Equal(_scorer.Card.Version, score.ModelVersion);
        Assert.Equal(PreScorer.Sha256Hex(_scorer.ModelPath), score.ModelSha256);
        Assert.Equal(ModelFixtures.ParityCases()["modelSha256"]!.GetValue<string>(), score.ModelSha256);
        Assert.Equal(0.5, score.ModelThreshold);
        Assert.Empty(score.ImputedFeatures);
    }

    [Fact]
    public void PhantomParityFixture_ScoresToItsReferencePre()
    {
        var dir = ModelFixtures.PhantomParityDirectory;
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")))!;
        var image = ModelFixtures.ReadFloats(Path.Combine(dir, "image.f32"));

        var score = _scorer.Score(image, ModelFixtures.Features(expected["clinicalFeatures"]));

        Assert.Equal(expected["referencePre"]!.GetValue<double>(), score.Pre, 1e-5);
        Assert.True(score.Pre >= 0.5, $"the high-risk phantom scores {score.Pre}");
    }

    [Fact]
    public void Score_GivesTheSameResults_FromManyThreadsAtOnce()
    {
        var cases = ModelFixtures.ParityCases()["cases"]!.AsArray()
            .Select(c => (Image: ModelFixtures.ReadFloats(Path.Combine(ModelFixtures.ParityDirectory, c!["image"]!.GetValue<string>())),
                          Features: ModelFixtures.Features(c["clinicalFeatures"]),
                          Pre: c["pre"]!.GetValue<double>()))
            .ToArray();

        var results = new double[24];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var c = cases[i % cases.Length];
            results[i] = _scorer.Score(c.Image, c.Features).Pre - c.Pre;
        });

        Assert.All(results, d => Assert.InRange(Math.Abs(d), 0, 1e-5));
    }

    [Fact]
    public void Score_Throws_WhenImageHasTheWrongLength()
    {
        var e = Assert.Throws<InvalidModelInputException>(() =>
            _scorer.Score(new float[100], new ClinicalFeatureValues(new Dictionary<string, double?>())));
        Assert.Contains("100", e.Message);
    }

    [Fact]
    public void Score_Throws_WhenImageHoldsNaN()
    {
        var image = new float[_scorer.ImageLength];
        image[1234] = float.NaN;

        var e = Assert.Throws<InvalidModelInputException>(() =>
            _scorer.Score(image, new ClinicalFeatureValues(new Dictionary<string, double?>())));
        Assert.Contains("1234", e.Message);
    }

    [Fact]
    public void Score_Throws_WhenAClinicalValueIsNotFinite()
    {
        var features = new ClinicalFeatureValues(new Dictionary<string, double?> { [ClinicalFeatureNames.Inr] = double.PositiveInfinity });

        var e = Assert.Throws<InvalidModelInputException>(() => _scorer.Score(new float[_scorer.ImageLength], features));
        Assert.Contains(ClinicalFeatureNames.Inr, e.Message);
    }

    [Fact]
    public void ClinicalTensor_ImputesEveryFeature_WhenNothingIsKnown()
    {
        var tensor = _scorer.BuildClinicalTensor(new ClinicalFeatureValues(new Dictionary<string, double?>()));

        Assert.All(tensor.Values, v => Assert.Equal(0f, v));
        Assert.Equal(ClinicalFeatureNames.All, tensor.ImputedFeatures);
    }

    [Fact]
    public void ClinicalTensor_AppliesLog10ToAfp_BeforeStandardising()
    {
        var afp = _scorer.Card.Clinical.Features.Single(f => f.Name == ClinicalFeatureNames.AfpNgPerMl);
        var features = new ClinicalFeatureValues(new Dictionary<string, double?> { [ClinicalFeatureNames.AfpNgPerMl] = 1000 });

        var tensor = _scorer.BuildClinicalTensor(features);

        Assert.Equal((float)((3.0 - afp.Mean) / afp.Std), tensor.Values[2], 1e-6f);
    }
}

public sealed class BundledScorerFixture : IDisposable
{
    public PreScorer Scorer { get; } = new(new PreModelOptions { IntraOpThreads = 1 });

    public void Dispose() => Scorer.Dispose();
}
