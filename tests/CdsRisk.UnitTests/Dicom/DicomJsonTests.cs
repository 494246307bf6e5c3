using System.Text.Json;
using CdsRisk.Dicom;

namespace CdsRisk.UnitTests.Dicom;

public sealed class DicomJsonTests
{
    private static JsonElement Dump(string file)
    {
        var dicom = DicomReader.Read(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "pydicom", file)));
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            DicomJson.Write(writer, DicomDataset.Merge(dicom.Meta, dicom.Dataset));
        }

        return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
    }

    [Fact]
    public void MrSmall_IsWrittenAsPs318AnnexFJson_WithoutPixelData()
    {
        var json = Dump("MR_small.dcm");
        Assert.Equal("UI", json.GetProperty("00020010").GetProperty("vr").GetString());
        Assert.Equal("1.2.840.10008.1.2.1", json.GetProperty("00020010").GetProperty("Value")[0].GetString());
        Assert.Equal("AAE=", json.GetProperty("00020001").GetProperty("InlineBinary").GetString());
        Assert.Equal("CompressedSamples^MR1", json.GetProperty("00100010").GetProperty("Value")[0].GetProperty("Alphabetic").GetString());
        Assert.Equal(64, json.GetProperty("00280010").GetProperty("Value")[0].GetInt32());
        Assert.Equal(JsonValueKind.Number, json.GetProperty("00200032").GetProperty("Value")[0].ValueKind);
        var pixelData = json.GetProperty("7FE00010");
        Assert.Equal("OW", pixelData.GetProperty("vr").GetString());
        Assert.False(pixelData.TryGetProperty("Value", out _) || pixelData.TryGetProperty("InlineBinary", out _));
        Assert.False(json.GetProperty("00080021").TryGetProperty("Value", out _)); // empty value: no Value (PS3.18 §F.2.5)
    }

    [Fact]
    public void Sequences_AreArraysOfItemObjects()
    {
        var json = Dump("rtplan.dcm");
        var sequence = json.GetProperty("300A0010");
        Assert.Equal("SQ", sequence.GetProperty("vr").GetString());
        Assert.Equal(2, sequence.GetProperty("Value").GetArrayLength());
        Assert.Equal("COORDINATES", sequence.GetProperty("Value")[0].GetProperty("300A0014").GetProperty("Value")[0].GetString());
    }
}
