using System.Globalization;
using System.Text.Json;

namespace CdsRisk.Dicom;

/// <summary>
/// Writes a data set in the DICOM JSON model (PS3.18 Annex F). Pixel data is left out (attribute with its VR only), as are
/// binary values longer than <c>maxInlineBinary</c>; shorter ones are InlineBinary (Base64). A value this reader cannot decode
/// (unsupported character set, malformed number) is written without a Value and reported through <c>onValueError</c>.
/// </summary>
public static class DicomJson
{
    public static void Write(Utf8JsonWriter writer, DicomDataset dataset, int maxInlineBinary = 1024, Action<DicomReadException>? onValueError = null)
    {
        writer.WriteStartObject();
        foreach (var element in dataset.Elements.OrderBy(e => e.Tag.Value))
        {
            writer.WritePropertyName(element.Tag.ToHex());
            writer.WriteStartObject();
            writer.WriteString("vr", element.VR.ToString());
            try
            {
                WriteValue(writer, element, dataset.CharacterSet, maxInlineBinary, onValueError);
            }
            catch (DicomReadException ex)
            {
                onValueError?.Invoke(ex);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, DicomElement element, DicomCharacterSet characterSet, int maxInlineBinary,
        Action<DicomReadException>? onValueError)
    {
        var vr = element.VR;
        switch (vr.Kind)
        {
            case DicomVRKind.Sequence:
                if (element.Items.Count > 0)
                {
                    writer.WriteStartArray("Value");
                    foreach (var item in element.Items)
                    {
                        Write(writer, item, maxInlineBinary, onValueError);
                    }

                    writer.WriteEndArray();
                }

                return;
            case DicomVRKind.Bytes:
                if (element.Tag != DicomTags.PixelData && element.Length > 0 && element.Length <= maxInlineBinary)
                {
                    writer.WriteBase64String("InlineBinary", element.Value.Span);
                }

                return;
            case DicomVRKind.Binary when vr == DicomVR.AT:
                WriteArray(writer, element.GetTags().Select(t => t.ToHex()), (w, s) => w.WriteStringValue(s));
                return;
            case DicomVRKind.Binary:
                WriteArray(writer, element.GetNumbers(), (w, n) => w.WriteNumberValue(n));
                return;
        }

        var strings = element.GetStrings(characterSet);
        if (strings.Length == 0)
        {
            return;
        }

        if (vr == DicomVR.PN)
        {
            WriteArray(writer, strings, (w, s) =>
            {
                w.WriteStartObject();
                var groups = s.Split('=');
                string[] names = ["Alphabetic", "Ideographic", "Phonetic"];
                for (var i = 0; i < Math.Min(groups.Length, 3); i++)
                {
                    if (groups[i].Length > 0)
                    {
                        w.WriteString(names[i], groups[i]);
                    }
                }

                w.WriteEndObject();
            });
        }
        else if (vr == DicomVR.IS || vr == DicomVR.DS)
        {
            WriteArray(writer, strings, (w, s) =>
            {
                if (s.Length == 0)
                {
                    w.WriteNullValue();
                }
                else if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
                {
                    w.WriteNumberValue(d);
                }
                else
                {
                    w.WriteStringValue(s); // not a number: kept as written (PS3.18 §F.2.3.1 allows strings)
                }
            });
        }
        else
        {
            WriteArray(writer, strings, (w, s) =>
            {
                if (s.Length == 0)
                {
                    w.WriteNullValue();
                }
                else
                {
                    w.WriteStringValue(s);
                }
            });
        }
    }

    private static void WriteArray<T>(Utf8JsonWriter writer, IEnumerable<T> values, Action<Utf8JsonWriter, T> write)
    {
        var list = values.ToList();
        if (list.Count == 0)
        {
            return;
        }

        writer.WriteStartArray("Value");
        foreach (var value in list)
        {
            write(writer, value);
        }

        writer.WriteEndArray();
    }
}
