// The engine flags shared by every engine-backed command: the tensor-parallel and multi-node ones parse into
// EngineConfig, and malformed values are refused at parse time with the flag named.
#include "cli/engine_options.h"

#include <gtest/gtest.h>

namespace turbolm::cli {
namespace {

EngineConfig parse(const std::string& args) {
  CLI::App app;
  EngineConfig config;
  add_engine_options(app, config);
  app.parse(args);
  return config;
}

TEST(EngineOptions, MultiNodeFlagsDefaultToOneNode) {
  const EngineConfig c = parse("");
  EXPECT_EQ(c.tp, 1);
  EXPECT_EQ(c.nnodes, 1);
  EXPECT_EQ(c.node_rank, 0);
  EXPECT_EQ(c.dist_init_addr, "");
}

TEST(EngineOptions, ParsesTensorParallelAndNodeFlags) {
  const EngineConfig c = parse("--tp 16 --nnodes 2 --node-rank 1 --dist-init-addr 10.0.0.1:29500");
  EXPECT_EQ(c.tp, 16);
  EXPECT_EQ(c.nnodes, 2);
  EXPECT_EQ(c.node_rank, 1);
  EXPECT_EQ(c.dist_init_addr, "10.0.0.1:29500");
}

TEST(EngineOptions, RejectsMalformedNodeFlags) {
  for (const char* args : {"--nnodes 0", "--nnodes two", "--node-rank -1", "--dist-init-addr 10.0.0.1",
                           "--dist-init-addr host:0", "--dist-init-addr :29500"}) {
    try {
      parse(args);
      ADD_FAILURE() << args << ": accepted";
    } catch (const CLI::ParseError& e) {
      const std::string flag = std::string(args).substr(0, std::string(args).find(' '));
      EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << args << ": " << e.what();
    }
  }
}

TEST(EngineOptions, HelpDescribesTheNodeFlags) {
  CLI::App app;
  EngineConfig config;
  add_engine_options(app, config);
  const std::string help = app.help();
  for (const char* text : {"--tp", "--nnodes", "--node-rank", "--dist-init-addr", "HOST:PORT of node 0"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text << " in\n" << help;
  }
}

TEST(EngineOptions, PrefixCachingIsOnUnlessTurnedOff) {
  EXPECT_TRUE(parse("").enable_prefix_caching);
  EXPECT_TRUE(parse("--enable-prefix-caching").enable_prefix_caching);
  EXPECT_FALSE(parse("--enable-prefix-caching=false").enable_prefix_caching);
  EXPECT_FALSE(parse("--disable-prefix-caching").enable_prefix_caching);
  EXPECT_THROW(parse("--enable-prefix-caching --disable-prefix-caching"), CLI::ExcludesError);
}

TEST(EngineOptions, HelpSaysPrefixCachingIsOnByDefault) {
  CLI::App app;
  EngineConfig config;
  add_engine_options(app, config);
  const std::string help = app.help();
  // It showed "--enable-prefix-caching,--disable-prefix-caching{false}".
  EXPECT_EQ(help.find("{false}"), std::string::npos) << help;
  EXPECT_NE(help.find("(default: on; =false turns it off)"), std::string::npos) << help;
  EXPECT_NE(help.find("--disable-prefix-caching"), std::string::npos) << help;
}

TEST(EngineOptions, EagerModeAndLmdeployBackendNames) {
  EXPECT_FALSE(parse("").eager_mode);
  EXPECT_TRUE(parse("--eager-mode").eager_mode);
  EXPECT_NO_THROW(parse("--backend turbomind"));
  EXPECT_NO_THROW(parse("--backend pytorch"));
  try {
    parse("--backend vllm");
    ADD_FAILURE() << "--backend vllm accepted";
  } catch (const CLI::ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("--backend"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace turbolm::cli
