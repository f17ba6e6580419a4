// bench latency's bandwidth comparison: it reported "216% of the measured read bandwidth" for a model that fits in
// the CPU caches.
#include "cli/bandwidth_note.h"

#include <gtest/gtest.h>

namespace turbolm::cli {
namespace {

TEST(BandwidthNote, GivesTheShareOfTheMeasuredBandwidth) {
  EXPECT_EQ(bandwidth_note(9.0, 20.0), " = 45% of the measured 20.0 GB/s read bandwidth");
  EXPECT_EQ(bandwidth_note(20.0, 20.0), " = 100% of the measured 20.0 GB/s read bandwidth");
}

TEST(BandwidthNote, SaysTheWeightsAreCachedInsteadOfAShareAbove100Percent) {
  const std::string note = bandwidth_note(43.2, 20.0);
  EXPECT_EQ(note.find('%'), std::string::npos) << note;
  EXPECT_NE(note.find("more than the measured 20.0 GB/s memory read bandwidth: the weights fit in the CPU caches"),
            std::string::npos)
      << note;
}

TEST(BandwidthNote, NothingWithoutAMeasurement) { EXPECT_EQ(bandwidth_note(500.0, 0.0), ""); }

}  // namespace
}  // namespace turbolm::cli
