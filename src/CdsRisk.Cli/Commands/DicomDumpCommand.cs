using System.Text.Encodings.Web;
using System.Text.Json;
using CdsRisk.Dicom;

namespace CdsRisk.Cli.Commands;

/// <summary><c>dicom dump FILE</c>: the file as DICOM JSON (meta information and data set in one object), pixel data left out.</summary>
public static class DicomDumpCommand
{
    public static int Run(string path, TextWriter output, TextWriter error)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"cannot read {path}: {ex.Message}");
            return 1;
        }

        DicomFile file;
        try
        {
            file = DicomReader.Read(bytes);
        }
        catch (DicomReadException ex)
        {
            error.WriteLine($"refused: {ex.Reason}; tag {ex.Tag?.ToString() ?? "-"}; offset {ex.Offset}; {ex.Detail}");
            return 1;
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            DicomJson.Write(writer, DicomDataset.Merge(file.Meta, file.Dataset), onValueError: ex =>
                error.WriteLine($"warning: value left out: {ex.Reason}; tag {ex.Tag?.ToString() ?? "-"}; {ex.Detail}"));
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        return 0;
    }
}
