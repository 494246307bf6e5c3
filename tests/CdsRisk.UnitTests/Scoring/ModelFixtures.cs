using System.Text.Json;
using System.Text.Json.Nodes;
using CdsRisk.Core.Scoring;

namespace CdsRisk.UnitTests.Scoring;

/// <summary>Paths and loaders for the committed model fixtures (TestData/model, produced by models/make_fixtures.py).</summary>
internal static class ModelFixtures
{
    public static string TestData => Path.Combine(AppContext.BaseDirectory, "TestData", "model");
    public static string ParityDirectory => Path.Combine(TestData, "parity");
    public static string PhantomParityDirectory => Path.Combine(TestData, "phantom-parity");

    public static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BitConverter.ToSingle(bytes, 4 * i); // little-endian on every platform the service runs on
        }
        return values;
    }

    public static ClinicalFeatureValues Features(JsonNode? node)
    {
        var dict = new Dictionary<string, double?>();
        foreach (var (name, value) in node!.AsObject())
        {
            dict[name] = value?.GetValue<double>();
        }
        return new ClinicalFeatureValues(dict);
    }

    public static JsonNode ParityCases() => JsonNode.Parse(File.ReadAllText(Path.Combine(ParityDirectory, "cases.json")))!;

    /// <summary>A writable copy of the bundled model folder, for tampering with.</summary>
    public static string CopyBundledModel()
    {
        var dir = Path.Combine(Path.GetTempPath(), "cdsrisk-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(PreModelOptions.BundledDirectory))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }
        return dir;
    }

    public static void EditCard(string dir, Action<JsonObject> edit)
    {
        var path = Path.Combine(dir, PreModelOptions.CardFileName);
        var card = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(card);
        File.WriteAllText(path, card.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
