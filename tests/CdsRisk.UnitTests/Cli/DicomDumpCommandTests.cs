using System.Text.Json.Nodes;
using CdsRisk.Cli.Commands;

namespace CdsRisk.UnitTests.Cli;

/// <summary><c>cdsrisk-cli dicom dump FILE</c>: DICOM JSON on success, a non-zero exit naming the reason, tag and offset on refusal.</summary>
public sealed class DicomDumpCommandTests
{
    private static string File(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "pydicom", name);

    [Fact]
    public void ReadableFile_PrintsDicomJson_WithoutPixelData_AndExitsZero()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = DicomDumpCommand.Run(File("MR_small.dcm"), output, error);

        Assert.Equal(0, exit);
        var json = JsonNode.Parse(output.ToString())!.AsObject();
        Assert.Equal("MR", json["00080060"]!["Value"]![0]!.GetValue<string>());
        Assert.Equal("US", json["00280010"]!["vr"]!.GetValue<string>());
        Assert.Equal(64, json["00280010"]!["Value"]![0]!.GetValue<int>());
        Assert.False(json.ContainsKey("7FE00010") && json["7FE00010"]!["InlineBinary"] is not null, "pixel data is left out");
        Assert.Equal("", error.ToString());
    }

    [Theory]
    [InlineData("MR_small_bigendian.dcm", "BigEndian; tag (0002,0010)")]
    [InlineData("MR_truncated.dcm", "7FE0,0010")]
    public void RefusedFile_ExitsNonZero_NamingWhy(string name, string expected)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = DicomDumpCommand.Run(File(name), output, error);

        Assert.NotEqual(0, exit);
        Assert.Contains(expected, error.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("offset", error.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void MissingFile_ExitsNonZero_NamingTheFile()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.NotEqual(0, DicomDumpCommand.Run("/nonexistent/x.dcm", output, error));
        Assert.Contains("/nonexistent/x.dcm", error.ToString(), StringComparison.Ordinal);
    }
}
