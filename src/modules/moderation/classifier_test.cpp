#include "modules/moderation/classifier.hpp"
#include <gtest/gtest.h>
TEST(X,Y){}
