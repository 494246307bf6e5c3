using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using CdsRisk.Dicom.Dictionary;

namespace CdsRisk.Dicom;

/// <summary>
/// Reads DICOM Part 10 files (PS3.10 §7) and bare data sets in Implicit VR Little Endian, Explicit VR Little Endian and
/// Deflated Explicit VR Little Endian. Values are slices of the input. Every problem, for any input, is a
/// <see cref="DicomReadException"/>: lengths are checked before slicing, nesting is bounded, and each byte is visited once.
/// </summary>
public static class DicomReader
{
    private const uint UndefinedLength = 0xFFFFFFFF;
    private const int PreambleLength = 128;

    public static DicomFile Read(ReadOnlyMemory<byte> input, DicomReaderOptions? options = null)
    {
        options ??= DicomReaderOptions.Default;
        var span = input.Span;
        var hasPreamble = span.Length >= PreambleLength + 4 && span.Slice(PreambleLength, 4).SequenceEqual("DICM"u8);
        var pos = hasPreamble ? PreambleLength + 4 : 0;

        var meta = DicomDataset.Empty;
        if (hasPreamble || (span.Length >= 8 && BinaryPrimitives.ReadUInt16LittleEndian(span) == 0x0002))
        {
            var metaParser = new Parser(input, explicitVr: true, options);
            meta = metaParser.ParseDataset(ref pos, input.Length, depth: 0, untilItemDelimiter: false, DicomCharacterSet.Default, onlyGroup2: true);
        }

        var tsElement = meta.Find(DicomTags.TransferSyntaxUid);
        string? ts = tsElement is null ? null : Encoding.Latin1.GetString(tsElement.Value.Span).Trim(' ', '\0');
        bool inferred = false;
        bool explicitVr;
        if (string.IsNullOrEmpty(ts))
        {
            inferred = true;
            explicitVr = InferEncoding(span, pos, strict: !hasPreamble && meta.Elements.Count == 0);
            ts = explicitVr ? TransferSyntaxes.ExplicitVRLittleEndian : TransferSyntaxes.ImplicitVRLittleEndian;
        }
        else if (ts == TransferSyntaxes.ImplicitVRLittleEndian)
        {
            explicitVr = false;
        }
        else if (ts == TransferSyntaxes.ExplicitVRLittleEndian || TransferSyntaxes.IsEncapsulated(ts))
        {
            // Encapsulated syntaxes encode the data set as explicit VR LE; their pixel data is refused when met.
            // Some writers label an implicit VR data set explicit: a first element without a valid VR is read as implicit (as pydicom does).
            explicitVr = span.Length - pos < 6 || new DicomVR(BinaryPrimitives.ReadUInt16LittleEndian(span[(pos + 4)..])).IsKnown;
        }
        else if (ts == TransferSyntaxes.DeflatedExplicitVRLittleEndian)
        {
            explicitVr = true;
        }
        else if (ts == TransferSyntaxes.ExplicitVRBigEndian)
        {
            throw new DicomReadException(DicomReadError.BigEndian, DicomTags.TransferSyntaxUid, tsElement!.Offset,
                "Explicit VR Big Endian is retired and not read; request Explicit VR Little Endian (1.2.840.10008.1.2.1)");
        }
        else
        {
            throw new DicomReadException(DicomReadError.UnsupportedTransferSyntax, DicomTags.TransferSyntaxUid, tsElement!.Offset,
                $"transfer syntax {Truncate(ts)} is not supported; request Explicit VR Little Endian (1.2.840.10008.1.2.1)");
        }

        var source = input;
        var end = input.Length;
        if (ts == TransferSyntaxes.DeflatedExplicitVRLittleEndian)
        {
            source = Inflate(input[pos..], pos, options);
            pos = 0;
            end = source.Length;
        }

        var parser = new Parser(source, explicitVr, options);
        var dataset = parser.ParseDataset(ref pos, end, depth: 0, untilItemDelimiter: false, DicomCharacterSet.Default, onlyGroup2: false);
        return new DicomFile(hasPreamble, meta, dataset, ts, inferred, source);
    }

    /// <summary>
    /// Without (0002,0010) the first element decides: a valid VR in bytes 4-5 means explicit VR. Without preamble and meta,
    /// the first element must also be in group 0008 (PS3.10 §7.1 files start there), else the input is not DICOM.
    /// </summary>
    private static bool InferEncoding(ReadOnlySpan<byte> span, int pos, bool strict)
    {
        if (span.Length - pos < 8)
        {
            if (span.Length == pos && !strict)
            {
                return true;
            }

            throw new DicomReadException(strict ? DicomReadError.NotDicom : DicomReadError.Truncated, null, pos,
                "too short for a data element");
        }

        var group = BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]);
        var explicitVr = new DicomVR(BinaryPrimitives.ReadUInt16LittleEndian(span[(pos + 4)..])).IsKnown;
        if (strict && group != 0x0008)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(span[pos..]) == 0x0008 && explicitVr)
            {
                throw new DicomReadException(DicomReadError.BigEndian, new DicomTag(0x0008, BinaryPrimitives.ReadUInt16BigEndian(span[(pos + 2)..])),
                    pos, "Explicit VR Big Endian is retired and not read; request Explicit VR Little Endian (1.2.840.10008.1.2.1)");
            }

            throw new DicomReadException(DicomReadError.NotDicom, null, pos, "no DICM prefix and no group 0008 element at the start");
        }

        return explicitVr;
    }

    private static ReadOnlyMemory<byte> Inflate(ReadOnlyMemory<byte> deflated, int offset, DicomReaderOptions options)
    {
        var limit = (int)Math.Min(Math.Min(options.MaxInflatedBytes, Array.MaxLength),
            Math.Max(64L << 10, (long)deflated.Length * options.MaxInflationRatio));
        var stream = MemoryMarshal.TryGetArray(deflated, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(deflated.ToArray(), writable: false);
        var buffer = new byte[Math.Min(limit, Math.Max(4096, deflated.Length * 4))];
        var length = 0;
        try
        {
            using var inflater = new DeflateStream(stream, CompressionMode.Decompress);
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length >= limit)
                    {
                        Span<byte> probe = stackalloc byte[1];
                        if (inflater.Read(probe) > 0)
                        {
                            throw new DicomReadException(DicomReadError.InflatedTooLarge, null, offset,
                                $"the deflated data set inflates past the limit of {limit} bytes");
                        }

                        break;
                    }

                    Array.Resize(ref buffer, (int)Math.Min(limit, (long)buffer.Length * 2));
                }

                var read = inflater.Read(buffer, length, buffer.Length - length);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }
        catch (InvalidDataException ex)
        {
            throw new DicomReadException(DicomReadError.InvalidDeflate, null, offset, "the deflated data set is not valid raw DEFLATE", ex);
        }

        return buffer.AsMemory(0, length);
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "…";

    private sealed class Parser(ReadOnlyMemory<byte> buffer, bool explicitVr, DicomReaderOptions options)
    {
        public DicomDataset ParseDataset(ref int pos, int end, int depth, bool untilItemDelimiter, DicomCharacterSet characterSet, bool onlyGroup2)
            => ParseDataset(ref pos, end, depth, untilItemDelimiter, characterSet, onlyGroup2, explicitVr);

        private DicomDataset ParseDataset(ref int pos, int end, int depth, bool untilItemDelimiter, DicomCharacterSet characterSet,
            bool onlyGroup2, bool isExplicit)
        {
            var span = buffer.Span;
            var elements = new List<DicomElement>();
            ushort pixelRepresentation = 0;
            while (true)
            {
                if (pos == end)
                {
                    if (untilItemDelimiter)
                    {
                        throw new DicomReadException(DicomReadError.Truncated, null, pos, "item of undefined length ends without an item delimiter");
                    }

                    break;
                }

                if (onlyGroup2 && (end - pos < 2 || BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]) != 0x0002))
                {
                    break;
                }

                if (end - pos < 8)
                {
                    throw new DicomReadException(DicomReadError.Truncated, null, pos, $"{end - pos} bytes left, too few for an element header");
                }

                var start = pos;
                var tag = new DicomTag(BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]), BinaryPrimitives.ReadUInt16LittleEndian(span[(pos + 2)..]));
                if (tag.Group == 0xFFFE)
                {
                    if (tag == DicomTags.ItemDelimitationItem && untilItemDelimiter)
                    {
                        pos += 8;
                        break;
                    }

                    throw new DicomReadException(DicomReadError.InvalidStructure, tag, pos, "item or delimiter tag outside its place");
                }

                DicomVR vr;
                uint length;
                var valueIsImplicit = !isExplicit;
                if (isExplicit)
                {
                    vr = new DicomVR(BinaryPrimitives.ReadUInt16LittleEndian(span[(pos + 4)..]));
                    if (!vr.IsKnown)
                    {
                        throw new DicomReadException(DicomReadError.InvalidVR, tag, pos, "explicit VR bytes are not a VR defined by PS3.5");
                    }

                    if (vr.HasLongLength)
                    {
                        if (end - pos < 12)
                        {
                            throw new DicomReadException(DicomReadError.Truncated, tag, pos, "input ends inside the element header");
                        }

                        length = BinaryPrimitives.ReadUInt32LittleEndian(span[(pos + 8)..]);
                        pos += 12;
                    }
                    else
                    {
                        length = BinaryPrimitives.ReadUInt16LittleEndian(span[(pos + 6)..]);
                        pos += 8;
                    }

                    if (vr == DicomVR.UN && !tag.IsPrivate)
                    {
                        // A UN whose tag the dictionary knows is read as its dictionary VR (as pydicom does); a UN sequence
                        // is encoded in implicit VR little endian (PS3.5 §6.2.2 note 4).
                        var known = Resolve(DicomDictionary.Lookup(tag), pixelRepresentation);
                        if (known != DicomVR.UN)
                        {
                            vr = known;
                            valueIsImplicit = vr == DicomVR.SQ;
                        }
                    }

                    if (vr == DicomVR.UN && length == UndefinedLength)
                    {
                        vr = DicomVR.SQ;
                        valueIsImplicit = true;
                    }
                }
                else
                {
                    vr = Resolve(DicomDictionary.Lookup(tag), pixelRepresentation);
                    length = BinaryPrimitives.ReadUInt32LittleEndian(span[(pos + 4)..]);
                    pos += 8;
                    if (vr == DicomVR.UN && length == UndefinedLength)
                    {
                        vr = DicomVR.SQ;
                    }
                }

                DicomElement element;
                if (vr == DicomVR.SQ)
                {
                    if (depth + 1 > options.MaxNestingDepth)
                    {
                        throw new DicomReadException(DicomReadError.NestingTooDeep, tag, start, $"sequences nested deeper than {options.MaxNestingDepth}");
                    }

                    int sequenceEnd;
                    bool undefined = length == UndefinedLength;
                    if (undefined)
                    {
                        sequenceEnd = end;
                    }
                    else if (length > (uint)(end - pos))
                    {
                        throw new DicomReadException(DicomReadError.LengthPastEnd, tag, start, $"length {length} runs past the end of its container");
                    }
                    else
                    {
                        sequenceEnd = pos + (int)length;
                    }

                    var items = ParseSequence(ref pos, sequenceEnd, undefined, depth + 1, characterSet, tag, valueIsImplicit ? false : isExplicit);
                    element = new DicomElement(tag, vr, start, ReadOnlyMemory<byte>.Empty, items);
                }
                else
                {
                    if (length == UndefinedLength)
                    {
                        if (tag == DicomTags.PixelData)
                        {
                            throw new DicomReadException(DicomReadError.EncapsulatedPixelData, tag, start,
                                "pixel data is encapsulated (compressed); request Explicit VR Little Endian (1.2.840.10008.1.2.1)");
                        }

                        throw new DicomReadException(DicomReadError.InvalidStructure, tag, start, $"undefined length on VR {vr}");
                    }

                    if (length > (uint)(end - pos))
                    {
                        throw new DicomReadException(DicomReadError.LengthPastEnd, tag, start,
                            $"length {length} runs past the end of its container ({end - pos} bytes left)");
                    }

                    element = new DicomElement(tag, vr, start, buffer.Slice(pos, (int)length), null);
                    pos += (int)length;
                    if (tag == DicomTags.SpecificCharacterSet)
                    {
                        characterSet = DicomCharacterSet.FromValue(element.Value.Span);
                    }
                    else if (tag == DicomTags.PixelRepresentation && length >= 2)
                    {
                        pixelRepresentation = BinaryPrimitives.ReadUInt16LittleEndian(element.Value.Span);
                    }
                }

                elements.Add(element);
            }

            return elements.Count == 0 && characterSet == DicomCharacterSet.Default ? DicomDataset.Empty : new DicomDataset(elements, characterSet);
        }

        private List<DicomDataset> ParseSequence(ref int pos, int end, bool undefined, int depth, DicomCharacterSet characterSet, DicomTag sequenceTag,
            bool isExplicit)
        {
            var span = buffer.Span;
            var items = new List<DicomDataset>();
            while (true)
            {
                if (!undefined && pos == end)
                {
                    break;
                }

                if (end - pos < 8)
                {
                    throw new DicomReadException(undefined ? DicomReadError.Truncated : DicomReadError.LengthPastEnd, sequenceTag, pos,
                        undefined ? "sequence of undefined length ends without a sequence delimiter" : "sequence item header runs past the sequence");
                }

                var tag = new DicomTag(BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]), BinaryPrimitives.ReadUInt16LittleEndian(span[(pos + 2)..]));
                var length = BinaryPrimitives.ReadUInt32LittleEndian(span[(pos + 4)..]);
                if (tag == DicomTags.SequenceDelimitationItem && undefined)
                {
                    pos += 8;
                    break;
                }

                if (tag != DicomTags.Item)
                {
                    throw new DicomReadException(DicomReadError.InvalidStructure, sequenceTag, pos, $"expected an item tag in the sequence, found {tag}");
                }

                pos += 8;
                DicomDataset item;
                if (length == UndefinedLength)
                {
                    item = ParseDataset(ref pos, end, depth, untilItemDelimiter: true, characterSet, onlyGroup2: false, isExplicit);
                }
                else
                {
                    if (length > (uint)(end - pos))
                    {
                        throw new DicomReadException(DicomReadError.LengthPastEnd, sequenceTag, pos - 8, $"item length {length} runs past the sequence");
                    }

                    item = ParseDataset(ref pos, pos + (int)length, depth, untilItemDelimiter: false, characterSet, onlyGroup2: false, isExplicit);
                }

                items.Add(item);
            }

            return items;
        }

        /// <summary>Resolves the dictionary's ambiguous VRs the way PS3.5 Annex A.1 and PS3.3 define them for LE data.</summary>
        private static DicomVR Resolve(DicomVR vr, ushort pixelRepresentation)
        {
            if (vr == DicomVR.UsOrSs)
            {
                return pixelRepresentation == 1 ? DicomVR.SS : DicomVR.US;
            }

            if (vr == DicomVR.ObOrOw || vr == DicomVR.UsOrOw)
            {
                return DicomVR.OW; // implicit VR pixel data and LUT data are OW (PS3.5 §A.1 c)
            }

            return vr == DicomVR.None ? DicomVR.UN : vr;
        }
    }
}
