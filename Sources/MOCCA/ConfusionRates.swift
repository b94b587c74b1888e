/// The rates a reader of a confusion matrix asks for, from its four counts; each is 0
/// where its denominator is (no image called anomalous, no anomaly, ...), so a report of
/// a degenerate test set shows numbers instead of failing.
extension ConfusionCounts {
    /// The fraction of images called anomalous that are anomalies.
    public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
    /// The fraction of anomalies called anomalous (the true positive rate).
    public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
    /// The fraction of normal images called normal (the true negative rate).
    public var specificity: Double { ratio(trueNegatives, trueNegatives + falsePositives) }
    /// The fraction of all decisions that are right.
    public var accuracy: Double {
        ratio(truePositives + trueNegatives, truePositives + falsePositives + trueNegatives + falseNegatives)
    }
    /// The harmonic mean of precision and recall.
    public var f1: Double { precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0 }

    private func ratio(_ part: Int, _ whole: Int) -> Double { whole > 0 ? Double(part) / Double(whole) : 0 }
}
