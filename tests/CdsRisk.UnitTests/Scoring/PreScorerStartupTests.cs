using System.Text.Json.Nodes;
using CdsRisk.Core.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Scoring;

public sealed class PreScorerStartupTests : IDisposable
{
    private readonly string _dir = ModelFixtures.CopyBundledModel();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private PreScorer Open() => new(new PreModelOptions { Directory = _dir });

    [Fact]
    public void Opens_TheBundledModel_ByDefault()
    {
        using var scorer = new PreScorer(new PreModelOptions());

        Assert.Equal("pre-reference", scorer.Card.Id);
        Assert.True(scorer.Card.NotForClinicalUse);
        Assert.Equal(4 * 32 * 64 * 64, scorer.ImageLength);
    }

    [Fact]
    public void Refuses_WhenTheHashDiffersFromTheCard()
    {
        ModelFixtures.EditCard(_dir, card => card["sha256"] = new string('0', 64));

        var e = Assert.Throws<ModelCardMismatchException>(Open);

        Assert.Contains("sha256", e.Message);
        Assert.Contains(new string('0', 64), e.Message);
    }

    [Fact]
    public void Refuses_WhenTheOnnxFileWasAltered()
    {
        var onnx = Path.Combine(_dir, "pre-reference.onnx");
        var bytes = File.ReadAllBytes(onnx);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(onnx, bytes);

        var e = Assert.Throws<ModelCardMismatchException>(Open);

        Assert.Contains("sha256", e.Message);
    }

    [Fact]
    public void Refuses_WhenAnInputNameDiffers()
    {
        ModelFixtures.EditCard(_dir, card => card["inputs"]![0]!["name"] = "img");

        var e = Assert.Throws<ModelCardMismatchException>(Open);

        Assert.Contains("'img' is in the card but not in the model", e.Message);
        Assert.Contains("'image' is in the model but not in the card", e.Message);
    }

    [Fact]
    public void Refuses_WhenTheImageShapeDiffers()
    {
        ModelFixtures.EditCard(_dir, card =>
        {
            card["inputs"]![0]!["shape"] = new JsonArray("N", 4, 16, 64, 64);
            card["image"]!["grid"] = new JsonArray(16, 64, 64);
        });

        var e = Assert.Throws<ModelCardMismatchException>(Open);

        Assert.Contains("input 'image': card shape [N, 4, 16, 64, 64], model [N, 4, 32, 64, 64]", e.Message);
    }

    [Fact]
    public void Refuses_WhenTheClinicalShapeDiffers()
    {
        ModelFixtures.EditCard(_dir, card => card["inputs"]![1]!["shape"] = new JsonArray("N", 8));

        var e = Assert.Throws<ModelCardMismatchException>(Open);

        Assert.Contains("input 'clinical'", e.Message);
        Assert.Contains("[N, 8]", e.Message);
    }

    [Fact]
    public void Refuses_WhenTheOutputDtypeDiffers()
    {
        ModelFixtures.EditCard(_dir, card => card["output"]!["dtype"] = "float64");

        var e = Assert.Throws<ModelCardMismatchException>(Open);

        Assert.Contains("output 'pre': card dtype float64, model float32", e.Message);
    }

    [Fact]
    public void Refuses_WhenTheOnnxFileIsMissing()
    {
        File.Delete(Path.Combine(_dir, "pre-reference.onnx"));

        var e = Assert.Throws<ModelCardMismatchException>(Open);

        Assert.Contains("pre-reference.onnx", e.Message);
    }

    [Fact]
    public void Refuses_ACardWhoseFeaturesAreOutOfOrder()
    {
        ModelFixtures.EditCard(_dir, card =>
        {
            var features = card["clinical"]!["features"]!.AsArray();
            var first = features[0]!.DeepClone();
            features[0] = features[1]!.DeepClone();
            features[1] = first;
        });

        var e = Assert.Throws<InvalidModelCardException>(Open);

        Assert.Contains("clinical.features must be [age_years, sex_male", e.Message);
    }

    [Fact]
    public void Refuses_ACardThatIsNotJson()
    {
        File.WriteAllText(Path.Combine(_dir, PreModelOptions.CardFileName), "{ not json");

        Assert.Throws<InvalidModelCardException>(Open);
    }

    [Fact]
    public void Refuses_ACardWithAZeroStd()
    {
        ModelFixtures.EditCard(_dir, card => card["clinical"]!["features"]![3]!["std"] = 0);

        var e = Assert.Throws<InvalidModelCardException>(Open);

        Assert.Contains("albumin_g_l: std must be > 0", e.Message);
    }

    [Fact]
    public void StartupValidation_FailsNamingTheKey_WhenTheModelDoesNotMatch()
    {
        ModelFixtures.EditCard(_dir, card => card["sha256"] = new string('a', 64));
        var services = new ServiceCollection();
        services.AddPreScoring().Configure(o => o.Directory = _dir);
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("PreModel:Directory", e.Message);
        Assert.Contains("sha256", e.Message);
    }

    [Fact]
    public void StartupValidation_Passes_AndResolvesOneSharedScorer_ForTheBundledModel()
    {
        var services = new ServiceCollection();
        services.AddPreScoring();
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();

        Assert.Same(provider.GetRequiredService<PreScorer>(), provider.GetRequiredService<PreScorer>());
    }
}
