using System.Numerics;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace CdsRisk.Dicom;

/// <summary>
/// Native (uncompressed) single-sample pixel data of a data set: 8, 16 or 32 bits allocated, signed or unsigned,
/// with Bits Stored / High Bit masking and sign extension (PS3.5 §8.1.1) and the modality rescale (PS3.3 §C.11.1.1.2).
/// Frames are slices of the reader's input.
/// </summary>
public sealed class DicomPixelData
{
    private readonly ReadOnlyMemory<byte> _data;

    private DicomPixelData(ReadOnlyMemory<byte> data, int rows, int columns, int frames, int bitsAllocated, int bitsStored, int highBit,
        bool isSigned, double slope, double intercept)
    {
        _data = data;
        Rows = rows;
        Columns = columns;
        FrameCount = frames;
        BitsAllocated = bitsAllocated;
        BitsStored = bitsStored;
        HighBit = highBit;
        IsSigned = isSigned;
        RescaleSlope = slope;
        RescaleIntercept = intercept;
    }

    public int Rows { get; }

    public int Columns { get; }

    public int FrameCount { get; }

    public int BitsAllocated { get; }

    public int BitsStored { get; }

    public int HighBit { get; }

    public bool IsSigned { get; }

    public double RescaleSlope { get; }

    public double RescaleIntercept { get; }

    public int PixelsPerFrame => Rows * Columns;

    public int BytesPerFrame => Rows * Columns * (BitsAllocated / 8);

    /// <summary>Reads the pixel description of <paramref name="dataset"/>; throws <see cref="DicomReadException"/> when it cannot be decoded.</summary>
    public static DicomPixelData From(DicomDataset dataset)
    {
        var element = dataset.Find(DicomTags.PixelData)
            ?? throw new DicomReadException(DicomReadError.MissingAttribute, DicomTags.PixelData, -1, "no pixel data");
        var rows = Required(dataset, DicomTags.Rows);
        var columns = Required(dataset, DicomTags.Columns);
        var bitsAllocated = Required(dataset, DicomTags.BitsAllocated);
        var bitsStored = dataset.GetInt32(DicomTags.BitsStored) ?? bitsAllocated;
        var highBit = dataset.GetInt32(DicomTags.HighBit) ?? bitsStored - 1;
        var pixelRepresentation = dataset.GetInt32(DicomTags.PixelRepresentation) ?? 0;
        var samples = dataset.GetInt32(DicomTags.SamplesPerPixel) ?? 1;
        var frames = dataset.GetInt32(DicomTags.NumberOfFrames) ?? 1;
        var slope = dataset.GetDouble(DicomTags.RescaleSlope) ?? 1.0;
        var intercept = dataset.GetDouble(DicomTags.RescaleIntercept) ?? 0.0;

        string? problem = null;
        if (rows <= 0 || columns <= 0)
        {
            problem = $"rows {rows} and columns {columns} must be positive";
        }
        else if (bitsAllocated is not (8 or 16 or 32))
        {
            problem = $"bits allocated {bitsAllocated} is not 8, 16 or 32";
        }
        else if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated)
        {
            problem = $"bits stored {bitsStored} / high bit {highBit} do not fit {bitsAllocated} bits allocated";
        }
        else if (pixelRepresentation is not (0 or 1))
        {
            problem = $"pixel representation {pixelRepresentation} is not 0 or 1";
        }
        else if (samples != 1)
        {
            problem = $"samples per pixel {samples}: only single-sample (grey-scale) images are read";
        }
        else if (frames < 1)
        {
            problem = $"number of frames {frames} must be at least 1";
        }
        else if (slope == 0)
        {
            problem = "rescale slope 0";
        }
        else if ((long)rows * columns * (bitsAllocated / 8) * frames > element.Length)
        {
            problem = $"pixel data holds {element.Length} bytes, fewer than {frames} frame(s) of {rows}x{columns}x{bitsAllocated / 8} need";
        }

        if (problem is not null)
        {
            throw new DicomReadException(DicomReadError.UnsupportedPixelData, DicomTags.PixelData, element.Offset, problem);
        }

        return new DicomPixelData(element.Value, rows, columns, frames, bitsAllocated, bitsStored, highBit, pixelRepresentation == 1, slope, intercept);
    }

    private static int Required(DicomDataset dataset, DicomTag tag) =>
        dataset.GetInt32(tag) ?? throw new DicomReadException(DicomReadError.MissingAttribute, tag, -1, $"{tag} is required to read pixel data");

    /// <summary>The raw bytes of one frame (a slice of the input).</summary>
    public ReadOnlySpan<byte> GetFrameBytes(int frame)
    {
        if ((uint)frame >= (uint)FrameCount)
        {
            throw new DicomReadException(DicomReadError.UnsupportedPixelData, DicomTags.PixelData, -1, $"frame {frame} of {FrameCount} does not exist");
        }

        return _data.Span.Slice(frame * BytesPerFrame, BytesPerFrame);
    }

    /// <summary>Stored values of one frame after masking to Bits Stored and sign extension.</summary>
    public void ReadStoredValues(int frame, Span<int> destination)
    {
        var bytes = GetFrameBytes(frame);
        CheckDestination(destination.Length);
        var shift = HighBit + 1 - BitsStored;
        switch (BitsAllocated)
        {
            case 8:
                for (var i = 0; i < PixelsPerFrame; i++)
                {
                    destination[i] = Extract(bytes[i], shift);
                }

                break;
            case 16:
                var words = MemoryMarshal.Cast<byte, ushort>(bytes);
                if (!BitConverter.IsLittleEndian)
                {
                    throw new PlatformNotSupportedException("big-endian hosts are not supported");
                }

                if (shift == 0 && BitsStored == 16)
                {
                    if (IsSigned)
                    {
                        var signed = MemoryMarshal.Cast<ushort, short>(words);
                        for (var i = 0; i < signed.Length; i++)
                        {
                            destination[i] = signed[i];
                        }
                    }
                    else
                    {
                        for (var i = 0; i < words.Length; i++)
                        {
                            destination[i] = words[i];
                        }
                    }
                }
                else
                {
                    for (var i = 0; i < words.Length; i++)
                    {
                        destination[i] = Extract(words[i], shift);
                    }
                }

                break;
            default:
                for (var i = 0; i < PixelsPerFrame; i++)
                {
                    var raw = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]);
                    var value = Extract64(raw, shift);
                    destination[i] = value is >= int.MinValue and <= int.MaxValue
                        ? (int)value
                        : throw new DicomReadException(DicomReadError.UnsupportedPixelData, DicomTags.PixelData, -1, "32-bit stored value exceeds the int range");
                }

                break;
        }
    }

    /// <summary>Modality values (stored × slope + intercept) of one frame.</summary>
    public void ReadModalityValues(int frame, Span<float> destination)
    {
        CheckDestination(destination.Length);
        var slope = (float)RescaleSlope;
        var intercept = (float)RescaleIntercept;
        var bytes = GetFrameBytes(frame);
        if (BitsAllocated == 16 && BitConverter.IsLittleEndian)
        {
            Convert16(MemoryMarshal.Cast<byte, ushort>(bytes), destination, slope, intercept);
            return;
        }

        var shift = HighBit + 1 - BitsStored;
        for (var i = 0; i < PixelsPerFrame; i++)
        {
            long stored = BitsAllocated switch
            {
                8 => Extract(bytes[i], shift),
                16 => Extract(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]), shift),
                _ => Extract64(BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]), shift),
            };
            destination[i] = stored * slope + intercept;
        }
    }

    /// <summary>The common MR case, vectorised: shift to High Bit, mask to Bits Stored, sign-extend, rescale.</summary>
    private void Convert16(ReadOnlySpan<ushort> words, Span<float> destination, float slope, float intercept)
    {
        var shift = HighBit + 1 - BitsStored;
        var mask = (1u << BitsStored) - 1;
        var extend = 32 - BitsStored;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<ushort>.Count;
            var vMask = new Vector<uint>(mask);
            var vSlope = new Vector<float>(slope);
            var vIntercept = new Vector<float>(intercept);
            for (; i <= words.Length - width; i += width)
            {
                var w = Vector.ShiftRightLogical(new Vector<ushort>(words[i..]), shift);
                Vector.Widen(w, out var low, out var high);
                low &= vMask;
                high &= vMask;
                Vector<float> a, b;
                if (IsSigned)
                {
                    a = Vector.ConvertToSingle(Vector.ShiftRightArithmetic(Vector.AsVectorInt32(Vector.ShiftLeft(low, extend)), extend));
                    b = Vector.ConvertToSingle(Vector.ShiftRightArithmetic(Vector.AsVectorInt32(Vector.ShiftLeft(high, extend)), extend));
                }
                else
                {
                    a = Vector.ConvertToSingle(low);
                    b = Vector.ConvertToSingle(high);
                }

                (a * vSlope + vIntercept).CopyTo(destination[i..]);
                (b * vSlope + vIntercept).CopyTo(destination[(i + width / 2)..]);
            }
        }

        for (; i < words.Length; i++)
        {
            var value = (words[i] >> shift) & mask;
            var stored = IsSigned ? (int)(value << extend) >> extend : (int)value;
            destination[i] = stored * slope + intercept;
        }
    }

    private void CheckDestination(int length)
    {
        if (length < PixelsPerFrame)
        {
            throw new ArgumentException($"destination holds {length} values, a frame has {PixelsPerFrame}", nameof(length));
        }
    }

    private int Extract(uint raw, int shift)
    {
        var value = (int)((raw >> shift) & ((1u << BitsStored) - 1));
        if (IsSigned && (value & (1 << (BitsStored - 1))) != 0)
        {
            value -= 1 << BitsStored;
        }

        return value;
    }

    private long Extract64(uint raw, int shift)
    {
        var mask = BitsStored == 32 ? uint.MaxValue : (1u << BitsStored) - 1;
        long value = (raw >> shift) & mask;
        if (IsSigned && (value & (1L << (BitsStored - 1))) != 0)
        {
            value -= 1L << BitsStored;
        }

        return value;
    }
}
