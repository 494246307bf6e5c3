using System.Globalization;

namespace CdsRisk.Dicom;

/// <summary>A data set (or a sequence item): elements in file order, looked up by tag.</summary>
public sealed class DicomDataset
{
    private readonly DicomElement[] _elements;
    private readonly Dictionary<uint, DicomElement>? _unordered;

    internal DicomDataset(List<DicomElement> elements, DicomCharacterSet characterSet)
    {
        _elements = [.. elements];
        CharacterSet = characterSet;
        for (var i = 1; i < _elements.Length; i++)
        {
            if (_elements[i - 1].Tag.Value >= _elements[i].Tag.Value)
            {
                // Out-of-order or repeated tags (not conformant, PS3.5 §7.1): the last occurrence wins.
                _unordered = new Dictionary<uint, DicomElement>(_elements.Length);
                foreach (var element in _elements)
                {
                    _unordered[element.Tag.Value] = element;
                }

                break;
            }
        }
    }

    public static DicomDataset Empty { get; } = new([], DicomCharacterSet.Default);

    /// <summary>One data set holding the file meta information and the data set (group 0002 first), for display.</summary>
    public static DicomDataset Merge(DicomDataset meta, DicomDataset dataset) =>
        new([.. meta.Elements, .. dataset.Elements], dataset.CharacterSet);

    public IReadOnlyList<DicomElement> Elements => _elements;

    /// <summary>The character set in force for this data set (its own (0008,0005), or the enclosing data set's).</summary>
    public DicomCharacterSet CharacterSet { get; }

    public bool Contains(DicomTag tag) => Find(tag) is not null;

    public DicomElement? Find(DicomTag tag)
    {
        if (_unordered is not null)
        {
            return _unordered.GetValueOrDefault(tag.Value);
        }

        int lo = 0, hi = _elements.Length - 1;
        var key = tag.Value;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var v = _elements[mid].Tag.Value;
            if (v == key)
            {
                return _elements[mid];
            }

            if (v < key)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return null;
    }

    /// <summary>All values of a string element, or an empty array when absent or empty.</summary>
    public string[] GetStrings(DicomTag tag) => Find(tag) is { } e ? e.GetStrings(CharacterSet) : [];

    /// <summary>The first value of a string element, or null when absent or empty.</summary>
    public string? GetString(DicomTag tag)
    {
        var values = GetStrings(tag);
        return values.Length > 0 && values[0].Length > 0 ? values[0] : null;
    }

    /// <summary>All numeric values (US, SS, UL, SL, FL, FD, SV, UV, IS, DS), or an empty array when absent.</summary>
    public double[] GetNumbers(DicomTag tag) => Find(tag) is { } e ? e.GetNumbers() : [];

    public double? GetDouble(DicomTag tag)
    {
        var values = GetNumbers(tag);
        return values.Length > 0 ? values[0] : null;
    }

    public int? GetInt32(DicomTag tag)
    {
        if (GetDouble(tag) is not { } value)
        {
            return null;
        }

        return value is >= int.MinValue and <= int.MaxValue && value == Math.Floor(value)
            ? (int)value
            : throw new DicomReadException(DicomReadError.InvalidValue, tag, Find(tag)!.Offset, "value is not a 32-bit integer");
    }

    public DicomPersonName? GetPersonName(DicomTag tag) => GetString(tag) is { } s ? new DicomPersonName(s) : null;

    /// <summary>A DA value (YYYYMMDD, or the ACR-NEMA form YYYY.MM.DD).</summary>
    public DateOnly? GetDate(DicomTag tag)
    {
        if (GetString(tag) is not { } text)
        {
            return null;
        }

        return DateOnly.TryParseExact(text, ["yyyyMMdd", "yyyy.MM.dd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw new DicomReadException(DicomReadError.InvalidValue, tag, Find(tag)!.Offset, "not a DA value");
    }

    /// <summary>A TM value (HH, HHMM, HHMMSS, HHMMSS.F{1-6}; the ACR-NEMA form HH:MM:SS is accepted too).</summary>
    public TimeOnly? GetTime(DicomTag tag)
    {
        if (GetString(tag) is not { } text)
        {
            return null;
        }

        return TryParseTime(text.Replace(":", ""), out var time)
            ? time
            : throw new DicomReadException(DicomReadError.InvalidValue, tag, Find(tag)!.Offset, "not a TM value");
    }

    private static bool TryParseTime(string text, out TimeOnly time)
    {
        time = default;
        var dot = text.IndexOf('.');
        var main = dot >= 0 ? text[..dot] : text;
        var fraction = dot >= 0 ? text[(dot + 1)..] : "";
        if (main.Length is not (2 or 4 or 6) || fraction.Length > 6 || !main.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit))
        {
            return false;
        }

        var h = int.Parse(main[..2], CultureInfo.InvariantCulture);
        var m = main.Length >= 4 ? int.Parse(main[2..4], CultureInfo.InvariantCulture) : 0;
        var s = main.Length >= 6 ? int.Parse(main[4..6], CultureInfo.InvariantCulture) : 0;
        var us = fraction.Length > 0 ? int.Parse(fraction.PadRight(6, '0'), CultureInfo.InvariantCulture) : 0;
        if (h > 23 || m > 59 || s > 60)
        {
            return false;
        }

        time = new TimeOnly(h, m, Math.Min(s, 59)).Add(TimeSpan.FromTicks(us * 10L));
        return true;
    }

    /// <summary>The items of a sequence, or an empty list when absent.</summary>
    public IReadOnlyList<DicomDataset> GetSequence(DicomTag tag) => Find(tag)?.Items ?? [];
}
