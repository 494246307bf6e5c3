using System.Text.Json.Nodes;
using CdsRisk.Core.Imaging;
using CdsRisk.Core.Scoring;
using CdsRisk.Dicom;

namespace CdsRisk.UnitTests.Scoring;

/// <summary>
/// The C# imaging pipeline (DICOM reader → phases → volumes → tensor) and the Python one (models/phantoms/preprocess.py) read the same
/// generated phantom into the same model input, and the bundled model gives the PRE the generator recorded.
/// Fixture: TestData/model/phantom-parity (its README says how it was made).
/// </summary>
public sealed class PreprocessingParityTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "TestData", "model", "phantom-parity");

    [Fact]
    public void GeneratedPhantom_GivesPythonsTensorWithin1e4_AndThePreWithin1e3()
    {
        using var scorer = new PreScorer(new PreModelOptions());
        var spec = ImageInputSpec.FromGrid(scorer.Card.Image.Grid);
        var slices = Directory.GetFiles(Path.Combine(Fixture, "dicom"), "*.dcm")
            .Select(f => ImagingSlice.FromDataset(DicomReader.Read(File.ReadAllBytes(f)).Dataset, spec))
            .ToList();
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture, "expected.json")))!;

        var result = StudyAssembler.Assemble(slices, new PhaseRules(), spec, new DateOnly(2026, 11, 27));

        Assert.True(result.IsAccepted, string.Join("; ", result.Refusals.Select(r => r.Detail)));
        var python = ReadFloats(Path.Combine(Fixture, "image.f32"));
        Assert.Equal(python.Length, result.Tensor!.Length);
        var worst = 0.0;
        for (var i = 0; i < python.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(python[i] - result.Tensor[i]));
        }

        Assert.True(worst <= 1e-4, $"largest difference from the Python tensor: {worst:E2}");

        var features = expected["clinicalFeatures"]!.AsObject().ToDictionary(kv => kv.Key, kv => (double?)kv.Value!.GetValue<double>());
        var score = scorer.Score(result.Tensor, new ClinicalFeatureValues(features));
        Assert.InRange(Math.Abs(score.Pre - expected["referencePre"]!.GetValue<double>()), 0, 1e-3);
    }

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
        return values;
    }
}
